"""mlnotes.training: batches, seeded shuffles, full-batch = gradient descent, NaN stop, evaluation."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mlnotes.data import Split, load_digits
from mlnotes.optim import GradientDescent
from mlnotes.training import TrainingDiverged, activation_spread, evaluate, train


def toy_split(n=24, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return Split(
        torch.randn(n, 3, generator=gen, dtype=torch.float64), torch.randint(0, 2, (n,), generator=gen)
    )


def toy_model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()


class Recorder(nn.Module):
    """Passes its input through a linear layer and remembers which examples (by first feature) it saw."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, 2).double()
        self.seen = []

    def forward(self, x):
        if self.training:
            self.seen.append(x[:, 0].long().tolist())
        return self.linear(x)


def indexed_split(n=10):
    return Split(torch.arange(n, dtype=torch.float64)[:, None], torch.zeros(n, dtype=torch.long))


def test_full_batch_training_is_gradient_descent_on_the_whole_set():
    data = toy_split()
    a, b = toy_model(), toy_model()
    train(a, GradientDescent(a.parameters(), lr=0.5), data, epochs=7, batch_size=len(data), progress=False)
    opt = torch.optim.SGD(b.parameters(), lr=0.5)
    for _ in range(7):
        opt.zero_grad()
        F.cross_entropy(b(data.x), data.y).backward()
        opt.step()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-12)


def test_every_epoch_visits_every_example_once_in_a_new_order():
    model = Recorder()
    history = train(
        model,
        GradientDescent(model.parameters(), lr=0.0),
        indexed_split(10),
        epochs=3,
        batch_size=4,
        progress=False,
        device="cpu",
    )
    assert [e.updates for e in history.epochs] == [3, 3, 3]
    assert [len(b) for b in model.seen] == [4, 4, 2] * 3  # the last batch of an epoch is smaller
    epochs = [[i for batch in model.seen[k : k + 3] for i in batch] for k in (0, 3, 6)]
    for order in epochs:
        assert sorted(order) == list(range(10))
    assert len({tuple(o) for o in epochs}) == 3


def test_the_seed_fixes_the_shuffles():
    def orders(seed):
        model = Recorder()
        train(
            model,
            GradientDescent(model.parameters(), lr=0.0),
            indexed_split(12),
            epochs=2,
            batch_size=5,
            seed=seed,
            progress=False,
        )
        return model.seen

    assert orders(1) == orders(1)
    assert orders(1) != orders(2)


@pytest.mark.parametrize("check_every", [1, 5, 100])
def test_a_nan_loss_stops_training_naming_epoch_and_update(check_every):
    calls = {"n": 0}

    def loss_fn(logits, y, reduction="mean"):
        calls["n"] += 1
        loss = F.cross_entropy(logits, y, reduction=reduction)
        return loss * float("nan") if calls["n"] == 13 else loss  # the 13th update: epoch 3, update 1

    model = toy_model()
    with pytest.raises(TrainingDiverged, match=r"became nan at epoch 3, update 1\b"):
        train(
            model,
            GradientDescent(model.parameters(), lr=0.1),
            toy_split(24),
            epochs=5,
            batch_size=4,
            loss_fn=loss_fn,
            progress=False,
            check_every=check_every,
        )


def test_a_too_large_learning_rate_diverges_with_a_message():
    # least squares on inputs of scale 100: each step multiplies the error by about 1 - lr * 2e4
    def mse(logits, y, reduction="mean"):
        return F.mse_loss(logits[:, 0], y.float(), reduction=reduction)

    data = Split(torch.randn(64, 3) * 100, torch.randint(0, 2, (64,)))
    model = nn.Sequential(nn.Linear(3, 2))
    with pytest.raises(TrainingDiverged, match="lower the learning rate"):
        train(
            model,
            GradientDescent(model.parameters(), lr=1.0),
            data,
            epochs=20,
            batch_size=8,
            loss_fn=mse,
            progress=False,
        )


def test_evaluate_counts_like_a_hand_loop_and_restores_the_mode():
    data, model = toy_split(30), toy_model()
    model.train()
    loss, accuracy = evaluate(model, data, batch_size=7, device="cpu")
    with torch.no_grad():
        logits = model(data.x)
    assert loss == pytest.approx(float(F.cross_entropy(logits, data.y)), rel=1e-12)
    assert accuracy == pytest.approx(float((logits.argmax(1) == data.y).double().mean()))
    assert model.training


def test_history_reports_time_and_validation():
    data = toy_split()
    model = toy_model()
    history = train(
        model,
        GradientDescent(model.parameters(), lr=0.1),
        data,
        epochs=2,
        batch_size=5,
        val=toy_split(10, seed=1),
        progress=False,
    )
    assert history.device == "cpu" and history.batch_size == 5
    assert all(e.seconds > 0 and e.val_accuracy is not None for e in history.epochs)
    assert history.seconds_per_update == pytest.approx(sum(e.seconds for e in history.epochs) / 10)


def test_a_small_network_learns_the_digits():
    data = load_digits()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    history = train(
        model,
        GradientDescent(model.parameters(), lr=0.5),
        data.train,
        epochs=10,
        batch_size=32,
        val=data.val,
        progress=False,
    )
    assert history.epochs[-1].val_accuracy > 0.9
    assert history.epochs[-1].train_loss < history.epochs[0].train_loss


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"batch_size": True}, "batch_size must be a positive integer"),
        ({"check_every": -1}, "check_every must be a positive integer"),
    ],
)
def test_bad_arguments(kwargs, message):
    model = toy_model()
    args = {"epochs": 1, "batch_size": 4, "progress": False, **kwargs}
    with pytest.raises(ValueError, match=message):
        train(model, GradientDescent(model.parameters(), lr=0.1), toy_split(), **args)


def test_empty_data_and_missing_cuda():
    model = toy_model()
    opt = GradientDescent(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="data holds no examples"):
        train(model, opt, Split(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long)), epochs=1, batch_size=1)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda"):
            train(model, opt, toy_split(), epochs=1, batch_size=4, device="cuda", progress=False)


def _spread(h: torch.Tensor) -> float:
    """By hand: each unit's standard deviation over the batch (divided by N), averaged over the units."""
    n = len(h)
    h = h.reshape(n, -1).double()
    centred = h - h.sum(dim=0) / n
    return float(((centred**2).sum(dim=0) / n).sqrt().mean())


def test_activation_spread_is_the_per_unit_spread_of_every_layer_in_forward_order():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Sequential(nn.Linear(7, 3), nn.Tanh()))
    x = torch.randn(40, 5)
    got = activation_spread(net, x)
    h1 = net[0](x)
    h2 = torch.relu(h1)
    h3 = net[2][0](h2)
    expected = {"0": h1, "1": h2, "2.0": h3, "2.1": torch.tanh(h3)}
    assert list(got) == list(expected)
    for name, h in expected.items():
        assert got[name] == pytest.approx(_spread(h.detach()), rel=1e-6), name
    assert list(activation_spread(net, x, kinds=nn.ReLU)) == ["1"]
    assert list(activation_spread(net, x, kinds=(nn.Linear, nn.Tanh))) == ["0", "2.0", "2.1"]


def test_activation_spread_of_a_scaled_identity_is_the_scale_times_the_input_spread():
    layer = nn.Linear(3, 3)
    with torch.no_grad():
        layer.weight.copy_(-2.5 * torch.eye(3))
        layer.bias.fill_(7.0)  # a constant shift changes no spread
    x = torch.tensor([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]])  # each column: 1 from its mean
    assert activation_spread(layer, x) == {"Linear": pytest.approx(2.5 * 2 / 3)}  # columns 1, 0, 1


def test_activation_spread_leaves_batch_norm_statistics_and_modes_as_they_were():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU())
    net[1].eval()  # one layer frozen inside a training model
    net[1].train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x = 3 + 5 * torch.randn(64, 4)
    got = activation_spread(net, x)
    # training mode: each unit normalized by its batch variance, spread sqrt(var / (var + eps)) ~ 1
    assert got["1"] == pytest.approx(1.0, abs=1e-4)
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert net.training and net[1].training
    net.eval()
    assert activation_spread(net, x)["1"] != pytest.approx(
        1.0, abs=1e-2
    )  # running statistics of a fresh layer
    assert not net.training


def test_activation_spread_names_every_call_of_a_shared_layer():
    shared = nn.Linear(2, 2)

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = shared

        def forward(self, x):
            return self.layer(self.layer(x))

    x = torch.randn(10, 2)
    got = activation_spread(Twice(), x)
    assert list(got) == ["layer", "layer (call 2)"]
    assert got["layer (call 2)"] == pytest.approx(_spread(shared(shared(x)).detach()), rel=1e-6)


@pytest.mark.parametrize(
    ("inputs", "kinds", "error", "words"),
    [
        (torch.randn(1, 4), None, ValueError, "at least 2 examples"),
        (torch.randn(4), None, ValueError, None),  # a vector is not a batch of examples
        (torch.ones(5, 4, dtype=torch.long), None, TypeError, "floating-point tensor"),
        ([[0.0] * 4] * 3, None, TypeError, "floating-point tensor"),
        (torch.full((3, 4), float("nan")), None, ValueError, "inputs"),
        (torch.randn(3, 4, dtype=torch.float64), None, ValueError, "inputs.to"),
        (torch.randn(3, 4), "relu", TypeError, "kinds"),
        (torch.randn(3, 4), (), TypeError, "kinds"),
    ],
)
def test_activation_spread_refuses_bad_inputs_in_one_line(inputs, kinds, error, words):
    net = nn.Sequential(nn.Linear(4, 2), nn.ReLU())
    with pytest.raises(error, match=words) as caught:
        activation_spread(net, inputs, kinds=kinds)
    assert "\n" not in str(caught.value)


def test_activation_spread_refuses_a_layer_whose_output_is_not_a_batch_and_kinds_can_skip_it():
    class Pair(nn.Module):
        def forward(self, x):
            return x, x

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.pair, self.out = Pair(), nn.Linear(4, 2)

        def forward(self, x):
            return self.out(self.pair(x)[0])

    x = torch.randn(6, 4)
    with pytest.raises(ValueError, match=r"layer 'pair' \(Pair\) returns tuple.*kinds="):
        activation_spread(Net(), x)
    assert list(activation_spread(Net(), x, kinds=nn.Linear)) == ["out"]


def test_a_diverged_run_keeps_the_history_of_the_epochs_before_it():
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    y = (x[:, 0] > 0).long()
    net = nn.Sequential(nn.Linear(3, 2))
    rates = iter([0.1, 0.1] + [1e38] * 100)  # two calm epochs (one update each), then far too large
    opt = GradientDescent(net.parameters(), lr=lambda t: next(rates))
    with pytest.raises(TrainingDiverged, match="epoch 4") as caught:
        train(net, opt, (x, y), epochs=5, batch_size=64, progress=False)
    history = caught.value.history
    assert [e.epoch for e in history.epochs] == [1, 2, 3]  # the third update threw the weights to 1e38
    assert all(e.train_loss < 1 for e in history.epochs[:2])
    assert TrainingDiverged("elsewhere").history is None


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_activation_spread_takes_every_floating_dtype_of_a_model(dtype):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 6), nn.ReLU()).to(dtype)
    x = torch.randn(16, 4).to(dtype)
    got = activation_spread(net, x, kinds=nn.ReLU)
    expected = _spread(torch.relu(net[0](x)).detach().double())
    assert got["1"] == pytest.approx(expected, rel=1e-6)


def test_activation_spread_refuses_a_model_on_the_meta_device_and_inputs_elsewhere():
    with torch.device("meta"):
        net = nn.Linear(4, 2)
    with pytest.raises(ValueError) as caught:
        activation_spread(net, torch.randn(3, 4))
    assert "\n" not in str(caught.value)
    with pytest.raises(ValueError, match=r"inputs\.to"):
        activation_spread(nn.Linear(4, 2), torch.randn(3, 4, device="meta"))
