"""Verifier training patches rendered around the objects of synthetic scenes."""

from __future__ import annotations

import numpy as np

from rams.training.patches import rendered_patches, scene_patches


def test_scene_patches_are_labelled_centred_and_reproducible() -> None:
    patches, labels, length, visible = scene_patches(1, (0.02, 0.03), 32, 0.02, small_item_share=0.0)
    assert patches.shape == (len(labels), 3, 32, 32) and patches.dtype == np.uint8
    positive = labels > 0.5
    assert positive.sum() >= 10 and (~positive).sum() >= 10  # items, and litter, stones, ground
    assert (length[positive] >= 5).all() and (length[~positive] == 0).all()  # small items left out
    assert (visible[~positive] == 1).all() and (visible[positive] > 0).all()
    assert (visible[positive] < 1).any()  # about three items in ten lie partly buried
    # an item lies at the centre of its patch: the centre stands out from the patch's top rows
    centre = patches[:, :, 13:19, 13:19].astype(float).mean(axis=(2, 3))
    border = np.median(patches[:, :, :4, :].reshape(len(labels), 3, -1), axis=2)
    contrast = np.abs(centre - border).sum(axis=1)
    assert np.median(contrast[positive]) > np.median(contrast[~positive]) + 10
    again = scene_patches(1, (0.02, 0.03), 32, 0.02, small_item_share=0.0)
    assert np.array_equal(again[0], patches) and np.array_equal(again[1], labels)
    with_small = scene_patches(1, (0.02, 0.03), 32, 0.02, small_item_share=1.0)
    assert (with_small[2][with_small[1] > 0.5] < 5).any()


def test_rendered_patches_concatenate_the_scenes_in_seed_order() -> None:
    done: list[int] = []
    patches, labels, length, visible = rendered_patches([4, 1], (0.02, 0.03), 16, None, workers=2,
                                                        on_scene=done.append)
    assert done == [1, 2]  # progress is reported after each scene
    parts = [scene_patches(s, (0.02, 0.03), 16, None) for s in (4, 1)]
    assert np.array_equal(patches, np.concatenate([p[0] for p in parts]))
    assert np.array_equal(labels, np.concatenate([p[1] for p in parts]))
    assert np.array_equal(length, np.concatenate([p[2] for p in parts]))
    assert np.array_equal(visible, np.concatenate([p[3] for p in parts]))


def test_scene_patches_of_the_field_catalogue_hold_its_objects() -> None:
    # the varied catalogue: more kinds of look-alikes than the classic scene of the same seed
    field = scene_patches(2, (0.03, 0.03), 32, 0.01, catalogue="field")
    classic = scene_patches(2, (0.03, 0.03), 32, 0.01)
    assert (field[1] > 0.5).sum() >= 5 and (field[1] < 0.5).sum() > (classic[1] < 0.5).sum()
