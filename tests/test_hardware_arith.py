"""The chip's arithmetic (:mod:`spikernn.hardware.arith`): lookup-table accuracy and the full tables against the
specified interpolation."""
import numpy as np

from spikernn.hardware import arith as A


def _sig(x):
    return 1 / (1 + np.exp(-x))


def test_lut_functions_accuracy():
    x = np.arange(-10 * 4096, 10 * 4096, 7, dtype=np.int64)
    xf = x / 4096.0
    assert np.abs(A.sigmoid_q(x) / 4096 - _sig(xf)).max() < 2.7e-4
    assert np.abs(A.tanh_q(x) / 4096 - np.tanh(xf)).max() < 5.5e-4
    assert A.sigmoid_q(np.array([0]))[0] == 2048 and A.tanh_q(np.array([0]))[0] == 0
    assert A.tanh_q(np.array([10 ** 7]))[0] == A.TANH_LUT[-1]


def test_precomputed_lookup_tables_equal_interpolation():
    from spikernn.hardware.kinds.gates import lstm_offsets

    x = np.arange(-(1 << 18), 1 << 18, dtype=np.int64)  # every Q12 input and clamped ones
    np.testing.assert_array_equal(A.sigmoid_q(x), A.lut_interp(A.SIGMOID_LUT, x))
    np.testing.assert_array_equal(A.tanh_q(x), A.lut_interp(A.TANH_LUT, x))
    z = np.random.default_rng(0).integers(-(1 << 17), 1 << 17, (50, 28))
    want = A.lut_interp(A.SIGMOID_LUT, z)
    want[:, 14:21] = A.lut_interp(A.TANH_LUT, z[:, 14:21])  # LSTM g columns (H = 7)
    np.testing.assert_array_equal(A.lut_columns(z, lstm_offsets(7)), want)


def test_products_shifts_and_registers():
    a = np.array([4096, -4096, 2048, 3, -3])
    np.testing.assert_array_equal(A.mul_q(a, np.full(5, 2048)), [2048, -2048, 1024, 2, -1])  # round half up
    np.testing.assert_array_equal(A.decay_q(np.array([100, -100]), 2048), [50, -50])  # toward zero
    np.testing.assert_array_equal(A.decay_q(np.array([3, -3]), 2048), [1, -1])
    np.testing.assert_array_equal(A.sat24(np.array([1 << 24, -(1 << 24)])), [A.MAX24, -A.MAX24])
    np.testing.assert_array_equal(A.wrap24(np.array([(1 << 23) + 5, -(1 << 23) - 5])), [-(1 << 23) + 5, (1 << 23) - 5])
    np.testing.assert_array_equal(A.to_q12(np.array([-1, 4]), 14), [-1, 1])  # floor
    np.testing.assert_array_equal(A.shift(np.array([5, 5]), np.array([2, -1])), [20, 2])
