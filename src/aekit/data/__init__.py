"""aekit's data layer: named image datasets, IDX files, arrays and tables.

Everything that reads user input raises :class:`DataError` with a message that
names the file and the field, row, column or value at fault.
"""

from aekit.data.datasets import ImageDataset, list_datasets, load_dataset, register_dataset
from aekit.data.download import download
from aekit.data.idx import read_idx, write_idx
from aekit.data.sparse import SparseRows
from aekit.data.tabular import DataSplits, TableData, load_array, load_data, load_table
from aekit.errors import DataError

__all__ = [
    "DataError",
    "DataSplits",
    "ImageDataset",
    "SparseRows",
    "TableData",
    "download",
    "list_datasets",
    "load_array",
    "load_data",
    "load_dataset",
    "load_table",
    "read_idx",
    "register_dataset",
    "write_idx",
]
