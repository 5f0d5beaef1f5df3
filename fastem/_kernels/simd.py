"""Eight-lane float64 vectors for Numba kernels (one AVX-512 register, or two AVX2 ones).

The hot loops of the rating kernels run over a user's ratings and, for each, over K
components stored contiguously. LLVM will not vectorise that inner K-loop on its own (it
cannot prove the accumulators do not alias the tables they read), so the kernels spell it
out: a ``Vec8`` is a local value that lives in a register, ``vload``/``vstore`` move eight
consecutive float64 of a 1-D array, and arithmetic is lane-wise. Component axes are padded
to a multiple of ``WIDTH`` (see ``padded``) so every block is whole.

Lane-wise arithmetic rounds exactly like the scalar loop it replaces, so results do not
change with the vector width.
"""
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, models, register_model

WIDTH = 8
_VECTOR = ir.VectorType(ir.DoubleType(), WIDTH)


@njit(cache=True)
def padded(k):
    """Smallest multiple of WIDTH >= k."""
    return -(-k // WIDTH) * WIDTH


class Vec8Type(types.Type):
    def __init__(self):
        super().__init__(name="Vec8")


vec8 = Vec8Type()


@register_model(Vec8Type)
class _Vec8Model(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _VECTOR)


def _address(context, builder, array_type, array, offset):
    data = context.make_array(array_type)(context, builder, array).data
    return builder.bitcast(builder.gep(data, [offset]), _VECTOR.as_pointer())


def _check_float64_array(array):
    if not (isinstance(array, types.Array) and array.dtype == types.float64 and array.ndim == 1):
        raise TypeError(f"Vec8 loads and stores need a 1-D float64 array, got {array}")


@intrinsic
def vzero(typingctx):
    """A Vec8 of zeros."""
    def codegen(context, builder, signature, args):
        return ir.Constant(_VECTOR, [0.0] * WIDTH)
    return vec8(), codegen


@intrinsic
def vbroadcast(typingctx, x):
    """A Vec8 with every lane equal to the float64 ``x``."""
    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[0], signature.args[0], types.float64)
        one = builder.insert_element(ir.Constant(_VECTOR, ir.Undefined), value, ir.Constant(ir.IntType(32), 0))
        return builder.shuffle_vector(one, one, ir.Constant(ir.VectorType(ir.IntType(32), WIDTH), [0] * WIDTH))
    return vec8(x), codegen


@intrinsic
def vload(typingctx, array, offset):
    """array[offset : offset + 8] as a Vec8 (no bounds check: callers keep offsets in range)."""
    _check_float64_array(array)

    def codegen(context, builder, signature, args):
        offset = context.cast(builder, args[1], signature.args[1], types.intp)
        return builder.load(_address(context, builder, signature.args[0], args[0], offset), align=8)
    return vec8(array, offset), codegen


@intrinsic
def vstore(typingctx, array, offset, vector):
    """array[offset : offset + 8] = vector."""
    _check_float64_array(array)

    def codegen(context, builder, signature, args):
        offset = context.cast(builder, args[1], signature.args[1], types.intp)
        builder.store(args[2], _address(context, builder, signature.args[0], args[0], offset), align=8)
        return context.get_dummy_value()
    return types.none(array, offset, vec8), codegen


def _lanewise(name, doc):
    @intrinsic
    def operation(typingctx, a, b):
        def codegen(context, builder, signature, args):
            return getattr(builder, name)(args[0], args[1])
        return vec8(vec8, vec8), codegen
    operation.__doc__ = doc
    return operation


vadd = _lanewise("fadd", "a + b, lane-wise.")
vsub = _lanewise("fsub", "a - b, lane-wise.")
vmul = _lanewise("fmul", "a * b, lane-wise.")


@njit(cache=True)
def pad_columns(a):
    """(d * Kp,) the rows of a (d, K) float64 array zero-padded to Kp = padded(K), flat."""
    d, K = a.shape
    Kp = padded(K)
    out = np.zeros(d * Kp)
    for i in range(d):
        for j in range(K):
            out[i * Kp + j] = a[i, j]
    return out


@njit(cache=True)
def unpad_columns(flat, K):
    """(d, K) from a flat (d * Kp,) array of padded rows."""
    Kp = padded(K)
    d = flat.shape[0] // Kp
    out = np.empty((d, K))
    for i in range(d):
        for j in range(K):
            out[i, j] = flat[i * Kp + j]
    return out
