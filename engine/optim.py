"""DAFormer's optimisation, in the shapes engine/trainer.py builds SGD in: PyTorch's AdamW, and
mmcv's linear warm-up of a learning-rate schedule.

MindSpore's own AdamWeightDecay has no bias correction (its first steps are about 3x larger
than PyTorch's) and is deprecated; mint's AdamW runs on Ascend alone. This one is PyTorch's
update, an nn.Optimizer like SGD, so its groups, schedules, state and loss scaling are the
trainer's as they are.
"""
import mindspore as ms
from mindspore import nn, ops
from mindspore.nn.learning_rate_schedule import LearningRateSchedule

WARMUP_START = 1e-6     # mmcv's warmup_ratio (DAFormer's): the first step's share of the lr

_adamw = ops.MultitypeFuncGraph('adamw')


@_adamw.register('Tensor', 'Tensor', 'Tensor', 'Tensor', 'Tensor', 'Tensor', 'Tensor',
                 'Tensor', 'Tensor', 'Tensor', 'Tensor')
def _adamw_update(beta1, beta2, eps, correction1, correction2, lr, weight_decay, param, grad,
                  m, v):
    """PyTorch's AdamW on one parameter: decay the weight by lr x weight_decay, then the
    bias-corrected Adam step."""
    grad = grad.astype(ms.float32)
    new_m = beta1 * m + (1.0 - beta1) * grad
    new_v = beta2 * v + (1.0 - beta2) * grad * grad
    denominator = ops.sqrt(new_v) / ops.sqrt(correction2) + eps
    new_param = param * (1.0 - lr * weight_decay) - lr / correction1 * new_m / denominator
    new_param = ops.depend(new_param, ops.assign(m, new_m))
    new_param = ops.depend(new_param, ops.assign(v, new_v))
    return ops.assign(param, new_param)


class AdamW(nn.Optimizer):
    """torch.optim.AdamW: m, v of the gradient with bias correction, and weight decay applied
    to the weight itself (decoupled), for groups of parameters with their own `lr` and
    `weight_decay`, as nn.SGD takes them."""

    def __init__(self, groups, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(0.0, groups)
        if not (self.is_group_lr and all('weight_decay' in group for group in groups)):
            raise ValueError('AdamW: every group needs its lr and weight_decay')
        self.beta1 = ms.Tensor(betas[0], ms.float32)
        self.beta2 = ms.Tensor(betas[1], ms.float32)
        self.eps = ms.Tensor(eps, ms.float32)
        self.moments1 = self._parameters.clone(prefix='adam_m', init='zeros')
        self.moments2 = self._parameters.clone(prefix='adam_v', init='zeros')
        self.hyper_map = ops.HyperMap()

    def construct(self, gradients):
        lr = self.get_lr()
        weight_decay = self.get_weight_decay()
        step = (self.global_step + 1).astype(ms.float32).reshape(())
        self.assignadd(self.global_step, self.global_step_increase_tensor)
        correction1 = 1.0 - ops.pow(self.beta1, step)
        correction2 = 1.0 - ops.pow(self.beta2, step)
        return self.hyper_map(
            ops.partial(_adamw, self.beta1, self.beta2, self.eps, correction1, correction2),
            lr, weight_decay, self._parameters, gradients, self.moments1, self.moments2)


class LinearWarmup(LearningRateSchedule):
    """mmcv's linear warm-up of `schedule` (DAFormer's): lr_i x (r + (1 - r) i / W) for the
    first W steps, from r = WARMUP_START, then the schedule itself."""

    def __init__(self, schedule, warmup_iters):
        super().__init__()
        self.schedule = schedule
        self.warmup_iters = float(warmup_iters)

    def construct(self, global_step):
        progress = global_step.astype(ms.float32) / self.warmup_iters
        factor = ops.minimum(WARMUP_START + (1.0 - WARMUP_START) * progress, 1.0)
        return self.schedule(global_step) * factor
