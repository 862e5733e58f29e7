"""Action codes and label conversion (analytics.actions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import analytics
from analytics import ACTION_CODES, ACTION_LABELS, decode_actions
from analytics.actions import HOLD, LONG, SHORT, action_index, encode_actions


class TestConstants:
    def test_codes_are_the_ideal_signal(self) -> None:
        # y* = +1 / -1 / 0 for LONG / SHORT / HOLD (docs/DEFINITIONS.md); the codes are y* itself.
        assert (LONG, SHORT, HOLD) == (1, -1, 0)
        assert ACTION_LABELS == ("LONG", "SHORT", "HOLD")
        assert ACTION_CODES == (1, -1, 0)

    def test_public_api_is_importable(self) -> None:
        for name in analytics.__all__:
            assert hasattr(analytics, name), name

    def test_core_imports_no_grpc_or_database_driver(self) -> None:
        code = (
            "import sys, analytics; "
            "banned = ('grpc', 'psycopg', 'psycopg_pool'); "
            "print(','.join(m for m in sys.modules if m.split('.')[0] in banned))"
        )
        repo = Path(__file__).resolve().parents[3]
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo
        )
        assert result.stdout.strip() == ""


class TestEncodeActions:
    def test_labels_to_codes(self) -> None:
        got = encode_actions(["LONG", "SHORT", "HOLD", "LONG"])
        assert got.dtype == np.int8
        assert_array_equal(got, [1, -1, 0, 1])

    def test_numpy_string_and_object_arrays(self) -> None:
        labels = ["HOLD", "SHORT", "LONG"]
        assert_array_equal(encode_actions(np.array(labels)), [0, -1, 1])
        assert_array_equal(encode_actions(np.array(labels, dtype=object)), [0, -1, 1])

    def test_empty(self) -> None:
        got = encode_actions([])
        assert got.dtype == np.int8
        assert got.shape == (0,)

    @pytest.mark.parametrize(
        ("labels", "message"),
        [
            (["LONG", "BUY"], r"labels\[1\] is 'BUY'"),
            (["long"], r"labels\[0\] is 'long'"),
            (np.array(["HOLD", None], dtype=object), r"labels\[1\] is None"),
        ],
    )
    def test_bad_label_is_named(self, labels: list[str], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            encode_actions(labels)

    def test_non_string_array_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="labels must be strings"):
            encode_actions(np.array([1, 0]))


class TestDecodeActions:
    def test_round_trip(self) -> None:
        labels = ["SHORT", "HOLD", "LONG", "LONG"]
        assert decode_actions(encode_actions(labels)).tolist() == labels


class TestActionIndex:
    def test_positions_in_label_order(self) -> None:
        assert_array_equal(action_index([LONG, SHORT, HOLD]), [0, 1, 2])

    @pytest.mark.parametrize("codes", [[2], [-2], [1.0]])
    def test_bad_codes(self, codes: list[float]) -> None:
        with pytest.raises(ValueError, match="codes"):
            action_index(codes)
