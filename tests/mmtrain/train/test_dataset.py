"""The map-style dataset returns exactly the bytes ``open_dataset`` reads, sample by sample."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from store_helpers import builtin_catalogue_dir, small_config, write_config
from torch.utils.data import DataLoader

from mmdata import open_dataset
from mmdata.cli import main as mmdata_main
from mmtrain.train import SampleDataset


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory):
    catalogue = builtin_catalogue_dir(tmp_path_factory)
    base = tmp_path_factory.mktemp("mapds")
    cfg = write_config(base / "c.yaml", small_config(dataset={"shard_size": 4, "parts": {"fg_bg": 6, "bg_only": 3, "blur_bg": 0, "static": 0, "fg_only": 0}}))
    root = base / "ds"
    for part, shards in ((1, 2), (2, 1)):
        for shard in range(shards):
            assert mmdata_main(["-q", "generate", "--config", str(cfg), "--catalogue", str(catalogue), "--part", str(part),
                                "--shard", str(shard), "--root", str(root)]) == 0
    assert mmdata_main(["-q", "index", "--root", str(root)]) == 0
    return root


def test_every_item_equals_open_dataset(root) -> None:
    ds = SampleDataset(root)
    reference = open_dataset(root)
    assert len(ds) == len(reference) == 9
    arrays = {name: np.asarray(arr) for name, arr in reference.fields.items()}
    for i in range(len(ds)):
        item = ds[i]
        for name in ("frame_a", "frame_b", "frame_b_perturbed", "frame_y_perturbed", "alpha", "part", "index"):
            assert isinstance(item[name], torch.Tensor), name
            np.testing.assert_array_equal(item[name].numpy(), arrays[name][i], err_msg=f"{name}[{i}]")
        assert item["frame_a"].dtype == torch.uint8 and item["frame_a"].shape == (32, 32, 3)
    assert ds[-1]["index"].item() == ds[len(ds) - 1]["index"].item()


def test_dataloader_batches_chosen_fields_and_parts(root) -> None:
    ds = SampleDataset(root, parts=["bg_only"], fields=("frame_a", "alpha"))
    assert len(ds) == 3
    batch = next(iter(DataLoader(ds, batch_size=3, shuffle=False)))
    assert sorted(batch) == ["alpha", "frame_a"]
    assert batch["frame_a"].shape == (3, 32, 32, 3)
    np.testing.assert_array_equal(batch["alpha"].numpy(), np.asarray(open_dataset(root, ["bg_only"]).fields["alpha"]))


def test_bad_field_and_index_are_refused(root) -> None:
    with pytest.raises(Exception, match="no field"):
        SampleDataset(root, fields=("frame_z",))
    with pytest.raises(IndexError, match="outside"):
        SampleDataset(root)[9]


def test_an_axial_dataset_serves_its_factors_and_our_trainer_refuses_it(tmp_path_factory, capsys) -> None:
    """SampleDataset hands axial trainers theta, alpha_x, alpha_y; mmtrain train stops before it starts."""
    from mmtrain.cli import main as mmtrain_main

    catalogue = builtin_catalogue_dir(tmp_path_factory)
    base = tmp_path_factory.mktemp("axialds")
    dataset = {"shard_size": 4, "parts": {"fg_bg": 4, "bg_only": 0, "blur_bg": 0, "static": 0, "fg_only": 0}, "axial": {"enabled": True}}
    cfg = write_config(base / "c.yaml", small_config(dataset=dataset))
    root = base / "ds"
    assert mmdata_main(["-q", "generate", "--config", str(cfg), "--catalogue", str(catalogue), "--part", "1", "--shard", "0", "--root", str(root)]) == 0
    assert mmdata_main(["-q", "index", "--root", str(root)]) == 0
    item = SampleDataset(root, fields=("frame_y_perturbed", "alpha", "theta", "alpha_x", "alpha_y"))[0]
    assert item["alpha_x"].item() == item["alpha"].item() and 0.0 <= item["alpha_y"].item() <= item["alpha_x"].item()
    train_cfg = write_config(base / "t.yaml", {"train": {"steps": 1, "crop_size": 16, "workers": 0}})
    capsys.readouterr()
    assert mmtrain_main(["-q", "train", "--config", str(train_cfg), "--root", str(root), "-o", str(base / "run")]) == 2
    err = capsys.readouterr().err
    assert f"{root}: the dataset has axial magnification targets" in err and len(err.strip().splitlines()) == 1, err
    assert not (base / "run" / "checkpoint.pt").exists()
