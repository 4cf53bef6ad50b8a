"""mlnotes.training: batches, seeded shuffles, full-batch = gradient descent, NaN stop, evaluation."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mlnotes.data import Split, load_digits
from mlnotes.optim import GradientDescent
from mlnotes.training import TrainingDiverged, evaluate, train


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
