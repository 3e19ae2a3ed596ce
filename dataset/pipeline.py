"""mindspore.dataset pipelines over the list-file datasets."""
import re

import mindspore.dataset as ds

from utils.errors import DataError

COLUMNS = ['image', 'label', 'index']


def eval_loader(dataset, num_workers=1, num_shards=None, shard_id=None):
    """Every image once, in list order (or this rank's shard of them), batch 1."""
    loader = ds.GeneratorDataset(dataset, COLUMNS, shuffle=False,
                                 num_parallel_workers=max(1, num_workers),
                                 python_multiprocessing=num_workers > 1,
                                 num_shards=num_shards, shard_id=shard_id)
    return loader.batch(1)


def iterate(loader):
    """Iterate a pipeline as dicts of numpy arrays; worker errors keep their one-line message.

    MindSpore re-raises an exception from a Python data worker as a RuntimeError holding the
    worker's whole traceback; a DataError inside it becomes a DataError again.
    """
    try:
        yield from loader.create_dict_iterator(output_numpy=True, num_epochs=1)
    except RuntimeError as e:
        found = re.search(r'DataError: ([^\n]+)', str(e))
        if found:
            raise DataError(found.group(1).strip()) from None
        raise
