"""A small outfit world with known compatibility rules and known shopper taste, drawn
directly as CNN-like feature maps (no images), for the outfit models' tests and benches.

Every item belongs to one slot (top, bottom, shoes) and has a colour and a detail. Its
feature map [H, W, K] holds the colour one-hot in every cell (plus noise), and the detail
one-hot only in one cell, the item's *detail region*, marked by a salience channel; every
other cell carries a random distractor detail. So:

- compatibility is non-personal: an outfit is compatible when top/bottom and bottom/shoes
  colours are harmonious (a fixed random symmetric relation, `harmony`);
- taste is personal: shopper u likes some details (`taste[u, d]`) and picks, among
  compatible outfits, those with details she likes (softmax over the sum of their tastes);
- the detail is only readable in the detail region, which is what PAN's spatial attention
  (eq. 3) should find: the distractors are as strong as the detail (`distractor` = 1), so
  the average over the map (FHN's pooling) and the channel attention's pooled descriptors
  (eq. 2) see every detail about equally, while the region is marked by a salience channel
  stronger than the rest (`salience` = 2), as a salient part lights up a real CNN's maps,
  so that the channel pools [avg; max] that eq. 3 convolves do show where it is;
- shoppers share taste groups: each likes her group's detail and one detail of her own
  (`taste_groups`, `liked_details` = 2), so the shoppers nearest in taste like outfits
  close to, but not the same as, hers: what PAN's online hard negatives train on.

Positive outfits are those picks; `random_outfits` mixes items per slot (mostly
incompatible) and other shoppers' picks are the personal negatives (FHN's "hard" ones).
"""
import dataclasses
import os

import numpy as np

from tfvisrec.data.outfits import SLOTS, OutfitTable, Outfits


@dataclasses.dataclass
class OutfitWorldConfig:
    num_users: int = 60
    items_per_slot: int = 40
    num_colours: int = 4
    num_details: int = 8
    map_size: int = 4            # H = W of the feature maps
    noise_channels: int = 4
    noise: float = 0.1
    distractor: float = 1.0      # amplitude of the random details outside the detail region
    salience: float = 2.0        # amplitude of the channel marking the detail region
    taste_groups: int = 4        # shoppers of a group share a liked detail (the group's)
    liked_details: int = 2       # details each shopper likes: her group's + her own
    # 10 train, 3 valid, 20 test: 1,200 test outfits, so 1,200 FITB questions (with 300 the paired
    # standard error of two models' FITB over the questions was 0.025-0.03, larger than the rows' gaps)
    outfits_per_user: int = 33
    valid_per_user: int = 3
    test_per_user: int = 20
    temperature: float = 0.25
    candidates: int = 200        # compatible outfits a shopper chooses each pick from
    seed: int = 0


@dataclasses.dataclass
class OutfitWorld:
    config: OutfitWorldConfig
    table: OutfitTable
    feature_maps: np.ndarray     # float32 [items, H, W, K]
    item_colour: np.ndarray      # [items]
    item_detail: np.ndarray      # [items]
    detail_cell: np.ndarray      # [items]: flat index h·W + w of the detail region
    harmony: np.ndarray          # bool [C, C]
    taste: np.ndarray            # float [users, D]

    @property
    def num_items(self) -> int:
        return len(self.item_colour)

    @property
    def user_ids(self):
        return [f"u{u:03d}" for u in range(self.config.num_users)]

    @property
    def item_ids(self):
        per = self.config.items_per_slot
        return [f"{SLOTS[i // per]}{i % per:03d}" for i in range(self.num_items)]

    def compatible(self, items: np.ndarray) -> np.ndarray:
        """bool [N] for outfits [N, 3]: the colour rules."""
        c = self.item_colour[items]
        return self.harmony[c[:, 0], c[:, 1]] & self.harmony[c[:, 1], c[:, 2]]

    def utility(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """The shopper's taste for the outfits' details, [N]."""
        return self.taste[users[:, None], self.item_detail[items]].sum(axis=1)

    def random_outfits(self, n: int, rng) -> np.ndarray:
        per = self.config.items_per_slot
        return np.stack([rng.integers(per, size=n) + s * per for s in range(len(SLOTS))], axis=1)


def make_outfit_world(config: OutfitWorldConfig = OutfitWorldConfig()) -> OutfitWorld:
    c = config
    rng = np.random.default_rng(c.seed)
    n = c.items_per_slot * len(SLOTS)
    colour = rng.integers(c.num_colours, size=n)
    detail = rng.integers(c.num_details, size=n)
    cell = rng.integers(c.map_size ** 2, size=n)
    harmony = np.eye(c.num_colours, dtype=bool)
    upper = np.triu(rng.random((c.num_colours, c.num_colours)) < 0.5, 1)
    harmony |= upper | upper.T
    maps = _feature_maps(c, colour, detail, cell, rng)
    taste = _taste(c, rng)
    world = OutfitWorld(c, None, maps, colour, detail, cell, harmony, taste)
    users, items = _pick_outfits(world, rng)
    world.table = _split(world, users, items)
    return world


def _taste(c, rng):
    """[users, D] in {0, 1}: shopper u likes the detail of her group (u mod `taste_groups`,
    the group's detail drawn once) and `liked_details` − 1 others drawn for her alone."""
    if not 1 <= c.taste_groups <= c.num_details or not 1 <= c.liked_details <= c.num_details:
        raise ValueError(f"need 1 ≤ taste_groups, liked_details ≤ num_details = {c.num_details}, got "
                         f"taste_groups={c.taste_groups}, liked_details={c.liked_details}")
    group_detail = rng.choice(c.num_details, c.taste_groups, replace=False)
    taste = np.zeros((c.num_users, c.num_details))
    for u in range(c.num_users):
        mine = group_detail[u % c.taste_groups]
        others = np.delete(np.arange(c.num_details), mine)
        taste[u, mine] = 1.0
        taste[u, rng.choice(others, c.liked_details - 1, replace=False)] = 1.0
    return taste


def _feature_maps(c, colour, detail, cell, rng):
    n, hw = len(colour), c.map_size ** 2
    k = c.num_colours + c.num_details + 1 + c.noise_channels
    maps = rng.normal(0.0, c.noise, (n, hw, k)).astype(np.float32)
    maps[np.arange(n), :, colour] += 1.0
    distractors = rng.integers(c.num_details, size=(n, hw))
    rows = np.repeat(np.arange(n), hw)
    cells = np.tile(np.arange(hw), n)
    maps[rows, cells, c.num_colours + distractors.ravel()] += c.distractor
    maps[np.arange(n), cell, c.num_colours:c.num_colours + c.num_details] = 0.0
    maps[np.arange(n), cell, c.num_colours + detail] = c.salience
    maps[np.arange(n), cell, c.num_colours + c.num_details] = c.salience
    return maps.reshape(n, c.map_size, c.map_size, k)


def _pick_outfits(world, rng):
    c = world.config
    users, items = [], []
    for u in range(c.num_users):
        chosen = set()
        while len(chosen) < c.outfits_per_user:
            candidates = world.random_outfits(c.candidates * 3, rng)
            candidates = candidates[world.compatible(candidates)][:c.candidates]
            logits = world.utility(np.full(len(candidates), u), candidates) / c.temperature
            pick = tuple(int(i) for i in candidates[np.argmax(logits + rng.gumbel(size=len(logits)))])
            chosen.add(pick)
        users += [u] * len(chosen)
        items += sorted(chosen)
    return np.asarray(users, np.int64), np.asarray(items, np.int64)


def _split(world, users, items):
    c = world.config
    rng = np.random.default_rng([c.seed, 1])
    split_of = np.zeros(len(users), np.int8)
    for u in range(c.num_users):
        rows = rng.permutation(np.flatnonzero(users == u))
        split_of[rows[:c.valid_per_user]] = 1
        split_of[rows[c.valid_per_user:c.valid_per_user + c.test_per_user]] = 2
    positives = {name: Outfits(users[split_of == k], items[split_of == k])
                 for k, name in enumerate(("train", "valid", "test"))}
    item_slot = np.repeat(np.arange(len(SLOTS), dtype=np.int8), c.items_per_slot)
    return OutfitTable(list(SLOTS), item_slot, positives)


TRUTH_FILE = "outfit_truth.npz"


def write_outfit_world(world: OutfitWorld, path: str, overwrite: bool = False) -> str:
    """The world as an outfit dataset folder, its feature maps in `feature_maps.npz` and its
    ground truth (item colour, detail and detail cell, the harmony relation, the shoppers'
    taste) in `outfit_truth.npz`."""
    from tfvisrec.data.feature_files import FEATURE_MAPS_FILE
    from tfvisrec.data.outfits import write_outfit_dataset
    meta = {"name": os.path.basename(os.path.abspath(path)), "source": "synthetic_outfits",
            "world": dataclasses.asdict(world.config)}
    return write_outfit_dataset(path, world.user_ids, world.item_ids, world.table, meta=meta,
                                overwrite=overwrite,
                                extra_npz={FEATURE_MAPS_FILE: {"maps": world.feature_maps},
                                           TRUTH_FILE: {"item_colour": world.item_colour,
                                                        "item_detail": world.item_detail,
                                                        "detail_cell": world.detail_cell,
                                                        "harmony": world.harmony, "taste": world.taste}})
