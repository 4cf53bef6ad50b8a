r"""Batch normalization from scratch, with the same numbers as ``torch.nn.BatchNorm1d`` and ``BatchNorm2d``.

For each channel $c$, training mode normalizes with the statistics of the current batch,

$$
\mu_c = \frac{1}{n}\sum_{k} x_{k,c}, \qquad
\sigma_c^2 = \frac{1}{n}\sum_{k}\left(x_{k,c} - \mu_c\right)^2, \qquad
\tilde x_{k,c} = \frac{x_{k,c} - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}}, \qquad
y_{k,c} = \gamma_c\,\tilde x_{k,c} + \beta_c,
$$

where $k$ runs over the $n$ values of channel $c$ in the batch: every example, and every position
for an input of shape ``(N, C, L)`` (a sequence) or ``(N, C, H, W)`` (an image, the output of a
convolutional layer, where $n = N H W$: one mean and one variance per channel, shared by all
positions, as the convolution shares its filter). Because $\mu$ and $\sigma$ depend on the whole batch, the
output for one example depends on the other examples of its batch, and so does its gradient.

At test time there may be a single example, so the batch statistics are replaced by moving averages
collected during training, with momentum $p$ (PyTorch's default 0.1):

$$
\bar\mu \leftarrow (1-p)\,\bar\mu + p\,\mu, \qquad
\bar\sigma^2 \leftarrow (1-p)\,\bar\sigma^2 + p\,\frac{n}{n-1}\,\sigma^2 .
$$

Note the two variances: the normalization uses the biased $\sigma^2$ (divide by $n$); the running
estimate takes the unbiased one (divide by $n-1$). That is what PyTorch does.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from mlnotes import _checks


class BatchNorm(nn.Module):
    r"""Batch normalization per channel (dimension 1) of ``(N, C)``, ``(N, C, L)`` or ``(N, C, H, W)``.

    One module covers ``torch.nn.BatchNorm1d`` (2-D and 3-D inputs) and ``BatchNorm2d`` (4-D): the
    statistics of a channel are taken over every dimension but dimension 1. The parameters and
    buffers have the names and shapes of PyTorch's (``weight``
    $=\boldsymbol\gamma$, starting at 1; ``bias`` $=\boldsymbol\beta$, starting at 0;
    ``running_mean``, ``running_var``, ``num_batches_tracked``), so state dicts load across.

    Args:
        num_features: $C$, the number of channels.
        eps: $\epsilon > 0$, added to the variance before the square root.
        momentum: $p \in [0, 1]$ for the running statistics, or ``None`` for a cumulative average
            over all batches seen (as in PyTorch).
        affine: learn $\boldsymbol\gamma$ and $\boldsymbol\beta$ (default) or leave them out.
        track_running_stats: keep running statistics for eval mode (default). Without them, eval
            mode also uses the batch statistics.

    Raises:
        ValueError: bad arguments; at call time, an input that is not ``(N, C)``, ``(N, C, L)`` or
            ``(N, C, H, W)`` with the right $C$, or (in training mode) only one value per channel.

    Examples:
        >>> bn = BatchNorm(2)
        >>> y = bn(torch.tensor([[1.0, 10.0], [3.0, 30.0]]))
        >>> y
        tensor([[-1.0000, -1.0000],
                [ 1.0000,  1.0000]], grad_fn=<AddBackward0>)
        >>> bn.running_mean, bn.running_var   # 0.9 * (0, 1) + 0.1 * (mean, unbiased variance)
        (tensor([0.2000, 2.0000]), tensor([ 1.1000, 20.9000]))
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__()
        self.num_features = _checks.positive_int("num_features", num_features)
        eps = _checks.real("eps", eps)
        if not 0.0 < eps < math.inf:
            raise ValueError(f"Invalid epsilon value: {eps} (expected a finite number > 0)")
        self.eps = eps
        if momentum is not None:
            momentum = _checks.real("momentum", momentum)
            if not 0.0 <= momentum <= 1.0:
                raise ValueError(f"Invalid momentum value: {momentum} (expected a number in [0, 1] or None)")
        self.momentum = momentum
        affine = _checks.flag("affine", affine)  # a NumPy bool too, as nn.BatchNorm1d accepts
        track_running_stats = _checks.flag("track_running_stats", track_running_stats)
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features))
            self.register_buffer("running_var", torch.ones(num_features))
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )

    def _check_input(self, x: object) -> Tensor:
        x = _checks.floating_tensor("input", x)
        if x.dim() not in (2, 3, 4):
            raise ValueError(
                f"expected 2D, 3D or 4D input (got {x.dim()}D input): (N, C), (N, C, L) or (N, C, H, W)"
            )
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"expected {self.num_features} channels in dimension 1, got input of shape {tuple(x.shape)}"
            )
        return x

    def forward(self, x: Tensor) -> Tensor:
        x = self._check_input(x)
        dims = [0, *range(2, x.dim())]  # every dimension but the channel one
        shape = [1, self.num_features, *[1] * (x.dim() - 2)]
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            n = x.numel() // self.num_features
            if n <= 1:
                raise ValueError(
                    f"Expected more than 1 value per channel when training, got input size {x.size()}"
                )
            mean = x.mean(dim=dims)
            var = x.var(dim=dims, unbiased=False)
            if self.training and self.track_running_stats:
                self._update_running_stats(mean.detach(), var.detach(), n)
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps)
        if self.affine:
            return x_hat * self.weight.view(shape) + self.bias.view(shape)
        return x_hat

    @torch.no_grad()
    def _update_running_stats(self, mean: Tensor, var: Tensor, n: int) -> None:
        self.num_batches_tracked += 1
        p = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        unbiased = var * (n / (n - 1))
        self.running_mean.mul_(1 - p).add_(mean, alpha=p)
        self.running_var.mul_(1 - p).add_(unbiased, alpha=p)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches tracked."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1.0)
            self.num_batches_tracked.zero_()
