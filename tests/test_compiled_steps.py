"""Kept training steps (engine/compiled_steps.py): a trainer trains on a kept step only inside
the pipeline's `with_kept_step`, under that key; the kept net then has the new net's weights
and the optimizer a new state."""
import mindspore as ms
import numpy as np
from mindspore import nn, ops

from engine import compiled_steps
from engine.compiled_steps import step_for, with_kept_step
from engine.trainer import optimizer_state


def dense(seed):
    ms.set_seed(seed)
    return nn.Dense(3, 2)


def new_step(net):
    """What a Trainer's make_step returns: (optimizer, step, the optimizer's state)."""
    optimizer = nn.Momentum(net.trainable_params(), 0.1, 0.9)
    return lambda: (optimizer, 'the step', optimizer_state(optimizer, net))


def test_a_step_is_kept_only_under_the_pipelines_key(monkeypatch):
    monkeypatch.setattr(compiled_steps, '_KEPT', {})
    first, second, third = dense(1), dense(2), dense(3)
    assert not np.array_equal(first.weight.asnumpy(), second.weight.asnumpy())
    step, reused = step_for(first, [], new_step(first))
    assert step.net is first and not reused and not compiled_steps._KEPT
    kept, reused = with_kept_step('graph', step_for, first, [], new_step(first))
    assert kept.net is first and not reused
    moments = kept.optimizer.moments[0]
    ops.assign(moments, ops.ones_like(moments))  # as after training
    again, reused = with_kept_step('graph', step_for, second, [], new_step(second))
    # the kept net trains, with the new net's weights and a new optimizer state
    assert again is kept and reused and again.net is first
    np.testing.assert_array_equal(first.weight.asnumpy(), second.weight.asnumpy())
    assert not moments.asnumpy().any()
    other, reused = with_kept_step('other graph', step_for, third, [], new_step(third))
    assert other.net is third and not reused
    # outside the pipeline's key (a test's own loss) a trainer never gets a kept step
    outside, reused = step_for(third, [], new_step(third))
    assert outside is not other and outside.net is third and not reused
