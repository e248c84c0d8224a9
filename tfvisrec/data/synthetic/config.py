"""`SyntheticConfig`: the knobs of the style world (its fields are the CLI's absl flags)."""
import dataclasses
import datetime
from typing import Any, Dict

from tfvisrec.config import field
from tfvisrec.data.synthetic import eras, users


# The smallest world drawn (the default world's flags are checked against them too).
MIN_USERS, MIN_ITEMS = 1, 12


@dataclasses.dataclass
class SyntheticConfig:
    """Size, randomness and difficulty of a generated world.

    The defaults give a world of 300 users, 600 items and ~6k purchases that generates in a
    few seconds, whose oracle leave-one-out AUC is ~0.9 and whose warm items have ~10+ buyers.
    """

    num_users: int = field(300, "Number of users.")
    num_items: int = field(600, "Number of items (catalogue size).")
    image_size: int = field(64, "Side of the square item images, in pixels.")
    part_scale: float = field(1.0, "Scale of the drawn neckline and print (1 = as always; e.g. 1.5 for parts a small CNN reads and localises more easily).")
    mean_interactions: float = field(20.0, "Mean number of distinct items a user buys.")
    min_interactions: int = field(6, "Fewest distinct items a user buys.")
    cold_fraction: float = field(0.2, "Fraction of items released late (few buyers: cold start).")
    cold_window: float = field(0.25, "Cold items are released within this last fraction of the date range.")
    temperature: float = field(0.6, "Temperature of the purchase softmax over true utilities (lower = choices follow taste more).")
    popularity_scale: float = field(0.3, "Stddev of the global item popularity bias b_i.")
    drivers: str = field("", "Comma-separated attributes (e.g. colour,sleeve,neckline): each user is driven by ONE of them, drawn uniformly (truth `user_drivers`); empty: every user weighs several attributes.")
    drift: bool = field(False, "Users' colour and pattern tastes drift linearly from a start to an end preference.")
    change_points: str = field("", "Fashion eras: comma-separated fractions of the period (e.g. 0.45,0.8) at which the colour and pattern in fashion for everyone change (eras.py).")
    trend_scale: float = field(2.0, "Utility of the colour and of the pattern in fashion in an era (with --change_points).")
    outfits: bool = field(False, "Also write outfits.csv (compatible and rule-breaking outfits).")
    outfits_per_user: int = field(4, "Outfits per user when --outfits (half compatible).")
    start_date: str = field("2020-01-01", "First day of the interaction period (YYYY-MM-DD).")
    end_date: str = field("2020-12-31", "Last day of the interaction period (YYYY-MM-DD).")
    jpeg_quality: int = field(92, "JPEG quality of the item images.")
    seed: int = field(0, "Random seed: same seed and config, same files.")

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        checks = [
            (self.num_users >= MIN_USERS, f"num_users must be >= {MIN_USERS}"),
            (self.num_items >= MIN_ITEMS, f"num_items must be >= {MIN_ITEMS}"),
            (16 <= self.image_size <= 1024, "image_size must be in [16, 1024]"),
            (0.5 <= self.part_scale <= 2.0, "part_scale must be in [0.5, 2]"),
            (self.min_interactions >= 1, "min_interactions must be >= 1"),
            (self.mean_interactions >= self.min_interactions,
             "mean_interactions must be >= min_interactions"),
            (self.min_interactions <= self.num_items // 3,
             "min_interactions must be <= num_items / 3"),
            (0.0 <= self.cold_fraction < 1.0, "cold_fraction must be in [0, 1)"),
            (0.0 < self.cold_window <= 1.0, "cold_window must be in (0, 1]"),
            (self.temperature > 0.0, "temperature must be > 0"),
            (self.popularity_scale >= 0.0, "popularity_scale must be >= 0"),
            (self.outfits_per_user >= 0, "outfits_per_user must be >= 0"),
            (1 <= self.jpeg_quality <= 100, "jpeg_quality must be in [1, 100]"),
            (self.trend_scale >= 0.0, "trend_scale must be >= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"{message} (got {self._value_of(message)})")
        if self.min_interactions > self.num_items - self.num_cold_items():
            raise ValueError(f"min_interactions ({self.min_interactions}) exceeds the number of warm "
                             f"items ({self.num_items - self.num_cold_items()})")
        eras.parse_change_points(self.change_points)
        if users.parse_drivers(self.drivers) and self.drift:
            raise ValueError("drivers and drift do not mix (drift redraws colour and pattern tastes)")
        start, end = self.time_range()
        if end <= start:
            raise ValueError(f"end_date {self.end_date!r} is before start_date {self.start_date!r}")

    def time_range(self):
        """(first, last) second of the period as unix seconds (UTC), end day inclusive."""
        start = _parse_day(self.start_date, "start_date")
        end = _parse_day(self.end_date, "end_date") + 86400 - 1
        return start, end

    def num_cold_items(self) -> int:
        return int(round(self.cold_fraction * self.num_items))

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    def _value_of(self, message):
        return getattr(self, message.split()[0])


def _parse_day(text, name):
    try:
        day = datetime.datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise ValueError(f"{name} must be a date YYYY-MM-DD (got {text!r})") from None
    return int(day.timestamp())
