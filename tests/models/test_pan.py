"""PAN's pieces against numpy: the user-aware channel (eq. 2) and spatial (eq. 3) attention,
the tanh / sign codes, the predictor y = g + α p (eq. 4), the user-specific and VSE losses,
the online hard-negative miner on a hand-made batch, and the grouped AUC / NDCG."""
import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from tfvisrec import losses, metrics
from tfvisrec.data.dataset import load_dataset
from tfvisrec.data.synthetic.outfit_world import OutfitWorldConfig, make_outfit_world, write_outfit_world
from tfvisrec.models import registry
from tfvisrec.models.base import DataInfo
from tfvisrec.models.pan_layers import UserChannelAttention, UserSpatialAttention, relaxed_code, repeat_rows
from tfvisrec.models.pan_negatives import mine_hard_negatives

RNG = np.random.default_rng(7)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_channel_attention(layer, maps, user):
    w0, b0 = [v.numpy() for v in layer.w0.weights]
    w1, b1 = [v.numpy() for v in layer.w1.weights]
    wcu = layer.w_cu.weights[0].numpy()
    mlp = lambda d: np.maximum(d @ w0 + b0, 0.0) @ w1 + b1
    weights = sigmoid(mlp(maps.mean(axis=(1, 2))) + mlp(maps.max(axis=(1, 2))) + user @ wcu)
    return maps * weights[:, None, None, :]


def np_spatial_attention(layer, maps, user, training=False):
    """Eq. 3 with CBAM's spatial gate: f = k×k convolution (no bias) + batch normalisation."""
    kernel = layer.conv.kernel.numpy()                                # [k, k, 2, 1]
    gamma, beta, moving_mean, moving_var = [v.numpy()[0] for v in
                                            (layer.norm.gamma, layer.norm.beta, layer.norm.moving_mean,
                                             layer.norm.moving_variance)]
    wsu = layer.w_su.weights[0].numpy()
    b, h, w, _ = maps.shape
    k = kernel.shape[0]
    pooled = np.stack([maps.mean(-1), maps.max(-1)], axis=-1)        # [B, H, W, 2]
    padded = np.pad(pooled, ((0, 0), (k // 2, k // 2), (k // 2, k // 2), (0, 0)))
    conv = np.zeros((b, h, w))
    for i in range(h):
        for j in range(w):
            conv[:, i, j] = np.einsum("bxyc,xyc->b", padded[:, i:i + k, j:j + k], kernel[..., 0])
    mean, var = (conv.mean(), conv.var()) if training else (moving_mean, moving_var)
    normalised = gamma * (conv - mean) / np.sqrt(var + layer.norm.epsilon) + beta
    weights = sigmoid(normalised + (user @ wsu).reshape(b, h, w))
    return maps * weights[..., None]


def test_user_channel_attention_is_eq_2():
    maps = RNG.normal(size=(3, 4, 5, 6)).astype(np.float32)
    user = RNG.normal(size=(3, 8)).astype(np.float32)
    layer = UserChannelAttention(reduction=2)
    out, weights = layer(tf.constant(maps), tf.constant(user))
    np.testing.assert_allclose(out.numpy(), np_channel_attention(layer, maps, user), rtol=1e-5, atol=1e-6)
    assert weights.shape == (3, 6)


def test_user_spatial_attention_is_eq_3():
    maps = RNG.normal(size=(2, 4, 5, 3)).astype(np.float32)
    user = RNG.normal(size=(2, 8)).astype(np.float32)
    layer = UserSpatialAttention(kernel_size=3)
    layer(tf.constant(maps), tf.constant(user))
    # the kernel and W_su start at zero (a uniform look); give every weight a value
    for variable in (layer.conv.kernel, layer.w_su.kernel, layer.norm.gamma, layer.norm.beta,
                     layer.norm.moving_mean):
        variable.assign(RNG.normal(size=variable.shape).astype(np.float32))
    layer.norm.moving_variance.assign([1.7])
    for training in (False, True):
        expected = np_spatial_attention(layer, maps, user, training)   # before the moving stats update
        out, _ = layer(tf.constant(maps), tf.constant(user), training=training)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4, atol=1e-5)
    # another user's code changes where the same garment is looked at
    out, _ = layer(tf.constant(maps), tf.constant(user))
    other, _ = layer(tf.constant(maps), tf.constant(user[::-1].copy()))
    assert not np.allclose(out.numpy()[0], other.numpy()[1])


def test_repeat_rows_is_np_repeat_and_its_gradient_transposes_nothing():
    """Each user's code once per slot, as np.repeat; its gradient sums a row's copies, and the
    traced gradient holds no Transpose (tf.repeat's did, of an int32 shape: an error line from
    oneDNN on CPUs without AVX-512)."""
    codes = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(repeat_rows(tf.constant(codes), 3).numpy(), np.repeat(codes, 3, axis=0))
    weights = np.arange(18, dtype=np.float32).reshape(6, 3)

    @tf.function
    def gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(repeat_rows(x, 3) * weights)
        return tape.gradient(total, x)

    x = tf.constant(codes)
    np.testing.assert_allclose(gradient(x).numpy(), weights.reshape(2, 3, 3).sum(axis=1))
    ops = {op.type for op in gradient.get_concrete_function(x).graph.get_operations()}
    assert "Transpose" not in ops, sorted(ops)


def test_codes_relax_sign_by_tanh_of_growing_slope():
    x = np.array([-2.0, -0.1, 0.0, 0.3], np.float32)
    np.testing.assert_allclose(relaxed_code(tf.constant(x), 3.0).numpy(), np.tanh(3.0 * x), rtol=1e-6)
    np.testing.assert_array_equal(relaxed_code(tf.constant(x), 3.0, binary=True).numpy(), [-1, -1, 1, 1])
    steep = relaxed_code(tf.constant(x), 100.0).numpy()
    np.testing.assert_allclose(steep[[0, 1, 3]], [-1, -1, 1], atol=1e-4)


@pytest.fixture(scope="module")
def tiny_outfit_dataset(tmp_path_factory):
    world = make_outfit_world(OutfitWorldConfig(num_users=5, items_per_slot=8, outfits_per_user=5,
                                                valid_per_user=1, test_per_user=1, candidates=40))
    return load_dataset(write_outfit_world(world, str(tmp_path_factory.mktemp("o") / "w")))


def _model(name, dataset, **config):
    cfg = registry.new_config(name, code_dim=6, **config)
    model = registry.get(name)(DataInfo.from_dataset(dataset), cfg)
    model.prepare(dataset)
    model.build_variables()
    return model


def test_the_seed_fixes_every_initial_weight(tiny_outfit_dataset):
    """Same seed, same model (the attention's layers included: runs repeat); another seed, another."""
    first, again = _model("pan", tiny_outfit_dataset, seed=5), _model("pan", tiny_outfit_dataset, seed=5)
    other = _model("pan", tiny_outfit_dataset, seed=6)
    assert [v.name for v in first.weights] == [v.name for v in again.weights]
    for a, b, c in zip(first.weights, again.weights, other.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.name)
        if "w0/kernel" in a.name or "w_cu/kernel" in a.name:
            assert not np.array_equal(a.numpy(), c.numpy()), a.name


@pytest.mark.parametrize("name", ["fhn", "pan"])
def test_outfit_score_is_eq_4(tiny_outfit_dataset, name):
    model = _model(name, tiny_outfit_dataset, alpha=0.7)
    model.slope.assign(2.0)
    model.pair_weights.assign(RNG.normal(size=model.pair_weights.shape))
    users = np.array([0, 3, 4])
    outfits = np.array([[0, 8, 16], [1, 9, -1], [7, -1, 23]])         # empty slots skipped
    maps = model.item_maps.maps.numpy()
    u = np.tanh(2.0 * model.user_embedding.numpy()[users])
    kernels, biases = model.item_kernels.numpy(), model.item_biases.numpy()
    w = model.pair_weights.numpy()
    expected, parts = [], []
    for row, user in enumerate(users):
        codes = {}
        for s, item in enumerate(outfits[row]):
            if item < 0:
                continue
            f = maps[item][None]
            if name == "pan":
                f = np_channel_attention(model.channel_attention, f, u[row:row + 1])
                f = np_spatial_attention(model.spatial_attention, f, u[row:row + 1])
            codes[s] = np.tanh(2.0 * (f.mean(axis=(1, 2))[0] @ kernels[s] + biases[s]))
        pairs = {(0, 1): 0, (0, 2): 1, (1, 2): 2}
        g = np.mean([codes[s] @ (w[k] * codes[t]) for (s, t), k in pairs.items() if s in codes and t in codes])
        p = np.mean([u[row] @ c for c in codes.values()])
        expected.append(g + 0.7 * p)
        parts.append((g, 0.7 * p))
    got = model.outfit_scores(tf.constant(users), tf.constant(outfits)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    got_parts = np.stack([t.numpy() for t in model.outfit_score_parts(tf.constant(users), tf.constant(outfits))], 1)
    np.testing.assert_allclose(got_parts, parts, rtol=1e-4, atol=1e-5)     # (g, α p): FITB by term
    binary = model.outfit_scores(tf.constant(users), tf.constant(outfits), binary=True).numpy()
    assert np.isfinite(binary).all() and not np.allclose(binary, got)


def test_validation_is_personal_auc_and_with_alpha_0_random_auc(tiny_outfit_dataset):
    """Early stopping watches what the model can move: with α = 0 (compatibility only) the
    personal AUC is chance at every epoch, so the random AUC is validated instead."""
    from tfvisrec.evaluation.outfits import evaluate_outfits
    for alpha, metric, column in ((0.7, "auc", "real/personal/auc"), (0.0, "random_auc", "real/random/auc")):
        model = _model("fhn", tiny_outfit_dataset, alpha=alpha, seed=0)
        model.slope.assign(2.0)
        model.pair_weights.assign(RNG.normal(size=model.pair_weights.shape))
        reported = evaluate_outfits(model, model.outfit_table, split="valid", seed=0)
        assert model.validation_metric == metric
        np.testing.assert_allclose(model.validation_score(tiny_outfit_dataset), reported[column], atol=1e-6)
    assert reported["real/personal/auc"] != reported["real/random/auc"]   # the two questions differ here


def test_attention_user_l2_adds_the_squared_user_projections(tiny_outfit_dataset):
    model = _model("pan", tiny_outfit_dataset, attention_user_l2=0.3)
    w_cu, w_su = model.channel_attention.w_cu.kernel, model.spatial_attention.w_su.kernel
    w_su.assign(RNG.normal(size=w_su.shape))
    batch = {"user": tf.constant([0, 1, 2, 3], tf.int64), "pos": {"item": tf.constant([[0, 8, 16]] * 4, tf.int64)},
             "neg": {"item": tf.constant([[1, 9, 17]] * 4, tf.int64)}}
    penalised = float(model.compute_loss(batch, training=False))
    model.config = dataclasses.replace(model.config, attention_user_l2=0.0)
    plain = float(model.compute_loss(batch, training=False))
    expected = 0.3 * (np.sum(w_cu.numpy() ** 2) + np.sum(w_su.numpy() ** 2))
    np.testing.assert_allclose(penalised - plain, expected, rtol=1e-4)


def test_user_specific_loss():
    own, other = np.array([1.0, -0.5, 2.0]), np.array([0.0, 0.5, 3.0])
    mask = np.array([True, True, False])
    expected = np.mean(np.log1p(np.exp(-(own - other)))[mask])
    np.testing.assert_allclose(losses.user_specific_loss(own, other, mask).numpy(), expected, rtol=1e-6)


def test_vse_loss_skips_items_without_text():
    v = RNG.normal(size=(4, 5)).astype(np.float32)
    t = RNG.normal(size=(4, 5)).astype(np.float32)
    mask = np.array([True, False, True, True])
    vn = v / np.linalg.norm(v, axis=1, keepdims=True)
    tn = t / np.linalg.norm(t, axis=1, keepdims=True)
    s = vn @ tn.T
    total = 0.0
    keep = np.flatnonzero(mask)
    for i in keep:
        for k in keep:
            if k != i:
                total += max(0, 0.2 - s[i, i] + s[i, k]) + max(0, 0.2 - s[i, i] + s[k, i])
    np.testing.assert_allclose(losses.vse_loss(v, t, mask, 0.2).numpy(), total / len(keep), rtol=1e-5)
    assert losses.vse_loss(v, t, [True, False, False, False]).numpy() == 0.0


def test_hard_negatives_are_the_nearest_users_outfits():
    # users 0, 1 share a code, user 2 is 1 bit away from them, user 3 is the opposite of user 0
    codes = np.array([[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, -1], [-1, -1, -1, -1], [1, 1, 1, 1]], np.float32)
    users = np.array([0, 1, 2, 3, 0])
    pos = np.arange(15).reshape(5, 3)
    rows, got = mine_hard_negatives(tf.constant(users), tf.constant(codes), tf.constant(pos),
                                    hard_ratio=0.8, k_ratio=0.2, seed=tf.constant([1, 2]))
    got = got.numpy()
    # k = 1: the nearest other user's outfit; rows 0-3 (0.8 · 5) get one, row 4 none
    np.testing.assert_array_equal(rows.numpy(), [0, 1, 2, 3])
    np.testing.assert_array_equal(got[0], pos[1])        # user 0 → user 1 (distance 0)
    assert tuple(got[1]) in {tuple(pos[0]), tuple(pos[4])}                  # user 1 → user 0
    assert tuple(got[2]) in {tuple(pos[0]), tuple(pos[1]), tuple(pos[4])}   # distance 1
    assert tuple(got[3]) == tuple(pos[2])                # user 3: user 2 is 3 bits away, others 4


def test_semi_hard_negatives_skip_the_very_nearest_users():
    # five users on a line of codes: the Hamming distance between users i and j is |i − j|
    codes = np.array([[1, 1, 1, 1], [1, 1, 1, -1], [1, 1, -1, -1], [1, -1, -1, -1], [-1, -1, -1, -1]], np.float32)
    pos = np.arange(10).reshape(5, 2)
    # k = ⌈0.6 · 5⌉ = 3 nearest, the ⌊0.4 · 5⌋ = 2 very nearest skipped: always the third nearest
    rows, got = mine_hard_negatives(tf.range(5), tf.constant(codes), tf.constant(pos), hard_ratio=1.0,
                                    k_ratio=0.6, seed=tf.constant([3, 4]), skip_ratio=0.4)
    np.testing.assert_array_equal(rows.numpy(), [0, 1, 2, 3, 4])
    got = [int(outfit[0]) // 2 for outfit in got.numpy()]          # whose outfit each row got
    assert got[0] == 3 and got[1] == 3 and got[3] == 1 and got[4] == 1
    assert got[2] in {0, 4}                                         # both 2 bits from user 2


def test_runs_saved_before_the_band_reload_with_the_nearest_users_draw(tiny_outfit_dataset, tmp_path):
    import json
    from tfvisrec import config as config_lib
    from tfvisrec.training import checkpoints
    checkpoints.save_configs(str(tmp_path), registry.new_config("pan_ul_hn", hard_k_ratio=0.2), config_lib.TrainConfig())
    saved = json.loads((tmp_path / "config.json").read_text())
    del saved["model"]["hard_skip_ratio"]                       # as written before the flag existed
    (tmp_path / "config.json").write_text(json.dumps(saved))
    config, _ = checkpoints.read_configs(str(tmp_path))
    assert config.hard_skip_ratio == 0.0 and config.hard_k_ratio == 0.2
    registry.get("pan_ul_hn")(DataInfo.from_dataset(tiny_outfit_dataset), config)


def test_no_hard_negatives_without_other_users():
    rows, got = mine_hard_negatives(tf.constant([5, 5, 5, 5]), tf.ones([4, 3]), tf.zeros([4, 2], tf.int64),
                                    1.0, 0.5, tf.constant([0, 0]))
    assert rows.shape == (0,) and got.shape == (0, 2)


def test_hard_negatives_join_the_random_ones_in_the_bpr_loss(tiny_outfit_dataset):
    """Eq. 5 over B random pairs and round(0.5 · B) hard ones: hard : random = 0.5, no random
    negative dropped."""
    model = _model("pan_ul_hn", tiny_outfit_dataset, hard_negative_ratio=0.5, hard_k_ratio=0.25,
                   hard_skip_ratio=0.0, user_loss_weight=0.0, vse_weight=0.0, l2_user=0.0)
    # users 0 and 1 nearest each other in code, so are 2 and 3
    near = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, -1], [-1, -1, -1, -1, -1, -1], [-1, -1, -1, -1, -1, 1]])
    model.user_embedding.assign(tf.concat([tf.constant(near * 0.5, tf.float32), model.user_embedding[4:]], 0))
    users = np.array([0, 1, 2, 3])
    pos = np.array([[0, 8, 16], [1, 9, 17], [2, 10, 18], [3, 11, 19]])
    neg = np.array([[4, 12, 20], [5, 13, 21], [6, 14, 22], [7, 15, 23]])
    batch = {"user": tf.constant(users, tf.int64), "pos": {"item": tf.constant(pos, tf.int64)},
             "neg": {"item": tf.constant(neg, tf.int64)}}
    score = lambda u, o: model.outfit_scores(tf.constant(u, tf.int64), tf.constant(o, tf.int64)).numpy()
    y_pos, y_neg = score(users, pos), score(users, neg)
    y_hard = score(users[:2], pos[[1, 0]])              # rows 0, 1: each other's outfit
    differences = np.concatenate([y_pos - y_neg, y_pos[:2] - y_hard])
    expected = np.mean(np.log1p(np.exp(-differences)))
    np.testing.assert_allclose(float(model.compute_loss(batch, training=False)), expected, rtol=1e-5)


@pytest.mark.parametrize("flag, value", [("hard_k_ratio", 0.0), ("hard_k_ratio", 1.5),
                                         ("hard_negative_ratio", -0.1), ("hard_negative_ratio", 2.0),
                                         ("hard_skip_ratio", -0.1), ("hard_skip_ratio", 0.75)])
def test_hard_negative_shares_out_of_range_are_refused(tiny_outfit_dataset, flag, value):
    with pytest.raises(ValueError, match=f"--{flag} must be within"):
        _model("pan_ul_hn", tiny_outfit_dataset, **{flag: value})


def test_grouped_auc_and_ndcg():
    scores = [3.0, 1.0, 2.0, 2.0, 5.0, 4.0, 0.0]
    labels = [1, 0, 1, 0, 0, 1, 0]
    groups = [0, 0, 0, 0, 1, 1, 1]
    out = metrics.grouped_auc_ndcg(scores, labels, groups, n=2)
    auc0 = (1 + 1 + 1 + 0.5) / 4                     # positives 3, 2 against 1, 2
    auc1 = (0 + 1) / 2
    assert out["auc"] == pytest.approx((auc0 + auc1) / 2)
    d = 1 / np.log2(np.arange(2, 5))
    ndcg0 = (d[0] + 0.5 * d[1]) / (d[0] + d[1])      # the tie at places 2-3, cut at n = 2
    ndcg1 = d[1] / d[0]
    assert out["ndcg@2"] == pytest.approx((ndcg0 + ndcg1) / 2)
    assert out["groups"] == 2


def test_items_with_text_train_the_visual_semantic_loss(tmp_path):
    from tfvisrec.data.outfit_pipeline import outfit_pairs
    from tfvisrec.data.outfits import write_outfit_dataset
    from tfvisrec.data.feature_files import FEATURE_MAPS_FILE
    world = make_outfit_world(OutfitWorldConfig(num_users=5, items_per_slot=8, outfits_per_user=5,
                                                valid_per_user=1, test_per_user=1, candidates=40))
    texts = [f"colour {c} detail {d}" if i % 2 else "" for i, (c, d) in
             enumerate(zip(world.item_colour, world.item_detail))]
    path = write_outfit_dataset(str(tmp_path / "w"), world.user_ids, world.item_ids, world.table,
                                texts=texts, extra_npz={FEATURE_MAPS_FILE: {"maps": world.feature_maps}})
    dataset = load_dataset(path)
    batch = next(iter(outfit_pairs(dataset, batch_size=8, seed=0, epoch=0)))
    model = _model("pan", dataset)
    with tf.GradientTape() as tape:
        loss = model.compute_loss(batch)
    grad = tape.gradient(loss, model.text_head.kernel)
    assert grad is not None and np.abs(grad.numpy()).sum() > 0
    model.config = dataclasses.replace(model.config, vse_weight=0.0)
    assert float(loss) > float(model.compute_loss(batch)) + 1e-4   # the VSE hinge is active
