"""Map MQTT topics to assets and signals: ``site/area/line/machine/signal`` by default.

The layout is a template of ``/``-separated levels.  Named levels in braces capture a
part of the topic; ``{machine}`` (or ``{asset}``) names the asset and ``{signal}`` the
signal; literal levels must match exactly.  A topic one level short of the template
(no signal level) carries a payload that names its signals itself (``{"values": {...}}``),
which is how a gateway publishes a machine's whole row in one message.
"""

from __future__ import annotations

from dataclasses import dataclass

from shopfloor.errors import ConfigError

DEFAULT_LAYOUT = "{site}/{area}/{line}/{machine}/{signal}"
_ASSET_NAMES = ("machine", "asset")


@dataclass(frozen=True)
class TopicMatch:
    asset: str
    signal: str | None  # None: the payload names its signals
    site: str | None = None


class TopicLayout:
    """A parsed topic template; ``parse(topic)`` returns a :class:`TopicMatch` or None."""

    def __init__(self, template: str = DEFAULT_LAYOUT) -> None:
        self.template = template
        self.levels = template.strip("/").split("/")
        names = [lv[1:-1] for lv in self.levels if lv.startswith("{") and lv.endswith("}")]
        asset = [n for n in names if n in _ASSET_NAMES]
        if len(asset) != 1:
            raise ConfigError(
                f"topic layout '{template}' must name exactly one of {{machine}} or {{asset}}",
            )
        self._asset_at = self.levels.index("{" + asset[0] + "}")
        self._signal_at = self.levels.index("{signal}") if "{signal}" in self.levels else None
        self._site_at = self.levels.index("{site}") if "{site}" in self.levels else None
        if self._signal_at is not None and self._signal_at != len(self.levels) - 1:
            raise ConfigError(f"topic layout '{template}': {{signal}} must be the last level")
        self._literals = [(i, lv) for i, lv in enumerate(self.levels) if not lv.startswith("{")]

    def subscription(self) -> list[str]:
        """Topic filters that receive every topic this layout can parse."""
        parts = ["+" if lv.startswith("{") else lv for lv in self.levels]
        filters = ["/".join(parts)]
        if self._signal_at is not None:
            filters.append("/".join(parts[:-1]))  # whole-row messages
        return filters

    def parse(self, topic: str) -> TopicMatch | None:
        parts = topic.split("/")
        if len(parts) == len(self.levels):
            signal = parts[self._signal_at] if self._signal_at is not None else None
        elif self._signal_at is not None and len(parts) == len(self.levels) - 1:
            signal = None
        else:
            return None
        for i, literal in self._literals:
            if i >= len(parts) or parts[i] != literal:
                return None
        asset = parts[self._asset_at]
        if not asset or signal == "":
            return None
        site = parts[self._site_at] if self._site_at is not None else None
        return TopicMatch(asset, signal, site)

    def topic(self, **levels: str) -> str:
        """Build a topic from level values (``signal`` may be left out for a whole row)."""
        parts = []
        for lv in self.levels:
            if lv.startswith("{"):
                name = lv[1:-1]
                if name == "signal" and "signal" not in levels:
                    break
                if name == "asset" and "asset" not in levels:
                    name = "machine"
                parts.append(levels.get(name) or levels.get("asset") or "_")
            else:
                parts.append(lv)
        return "/".join(parts)
