"""Eight-lane float64 vectors for Numba kernels (one AVX-512 register, or two AVX2 ones), and
four-lane ones for the last NARROW lanes of a row (rows of the rating kernels are a multiple of 4).

The hot loops of the rating kernels run over a user's ratings and, for each, over K
components stored contiguously. LLVM will not vectorise that inner K-loop on its own (it
cannot prove the accumulators do not alias the tables they read), so the kernels spell it
out: a ``Vec8`` is a local value that lives in a register, ``vload``/``vstore`` move eight
consecutive float64 of a 1-D array, and arithmetic is lane-wise. Component axes are padded
to a multiple of ``WIDTH`` (see ``padded``) so every block is whole. A ``Vec4`` starts as
``vzero4()``; ``vload_as``/``vbroadcast_as`` take their width from a template vector, and
``vstore`` and the arithmetic from their operands, so one helper serves both widths.

Lane-wise arithmetic rounds exactly like the scalar loop it replaces, so results do not
change with the vector width.
"""
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

WIDTH = 8
NARROW = 4   # lanes of a Vec4
_VECTOR = ir.VectorType(ir.DoubleType(), WIDTH)


def _broadcast(builder, value, vector_type=_VECTOR):
    """An LLVM vector of ``vector_type`` with every lane equal to the scalar IR ``value``."""
    one = builder.insert_element(ir.Constant(vector_type, ir.Undefined), value, ir.Constant(ir.IntType(32), 0))
    lanes = vector_type.count
    return builder.shuffle_vector(one, one, ir.Constant(ir.VectorType(ir.IntType(32), lanes), [0] * lanes))


@njit(cache=True)
def padded(k):
    """Smallest multiple of WIDTH >= k."""
    return -(-k // WIDTH) * WIDTH


class VecType(types.Type):
    """Numba type of a local vector of ``lanes`` float64 held as one LLVM <lanes x double> value:
    ``vec8`` (one AVX-512 register), and ``vec4`` for the last 4 lanes of a row (K <= 4, or
    K = 9..12 as 8 + 4 lanes: no padding to a whole 8-lane vector)."""

    def __init__(self, lanes):
        self.lanes = lanes
        super().__init__(name=f"Vec{lanes}")


@register_model(VecType)
class _VecModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, ir.VectorType(ir.DoubleType(), fe_type.lanes))


vec8, vec4 = VecType(WIDTH), VecType(NARROW)


def _address(context, builder, array_type, array, offset, vector_type=_VECTOR):
    data = context.make_array(array_type)(context, builder, array).data
    return builder.bitcast(builder.gep(data, [offset]), vector_type.as_pointer())


def _check_float64_array(array):
    if not (isinstance(array, types.Array) and array.dtype == types.float64 and array.ndim == 1
            and array.layout == "C"):
        raise TypeError(f"vector loads and stores need a contiguous 1-D float64 array, got {array}")


def _lane_mask(context, builder, count_type, count):
    """<8 x i1>: lane i is on when i < count."""
    i64 = ir.VectorType(ir.IntType(64), WIDTH)
    count = context.cast(builder, count, count_type, types.int64)
    splat = _broadcast(builder, count, i64)
    return builder.icmp_signed("<", ir.Constant(i64, list(range(WIDTH))), splat)


def _check_vector(vector):
    if vector not in (vec8, vec4):
        raise TypeError(f"expected a Vec8 or a Vec4, got {vector}")


def _llvm_vector(vector):
    return ir.VectorType(ir.DoubleType(), vector.lanes)


def _zero(vector):
    @intrinsic
    def zero(typingctx):
        def codegen(context, builder, signature, args):
            return ir.Constant(_llvm_vector(vector), [0.0] * vector.lanes)
        return vector(), codegen
    zero.__doc__ = f"A {vector} of zeros (the other vector operations take their width from their operands)."
    return zero


vzero, vzero4 = _zero(vec8), _zero(vec4)


def _broadcast_codegen(vector):
    """Codegen: the last argument (a scalar) in every lane of a ``vector``."""
    def codegen(context, builder, signature, args):
        return _broadcast(builder, context.cast(builder, args[-1], signature.args[-1], types.float64), _llvm_vector(vector))
    return codegen


def _load_codegen(vector):
    """Codegen: a ``vector`` from the last two arguments (array, offset)."""
    def codegen(context, builder, signature, args):
        offset = context.cast(builder, args[-1], signature.args[-1], types.intp)
        return builder.load(_address(context, builder, signature.args[-2], args[-2], offset, _llvm_vector(vector)), align=8)
    return codegen


@intrinsic
def vbroadcast(typingctx, x):
    """A Vec8 with every lane equal to the float64 ``x``."""
    return vec8(x), _broadcast_codegen(vec8)


@intrinsic
def vbroadcast_as(typingctx, like, x):
    """A vector as wide as ``like`` (Vec8 or Vec4) with every lane equal to the float64 ``x``."""
    _check_vector(like)
    return like(like, x), _broadcast_codegen(like)


@intrinsic
def vload(typingctx, array, offset):
    """array[offset : offset + 8] as a Vec8 (no bounds check: callers keep offsets in range)."""
    _check_float64_array(array)
    return vec8(array, offset), _load_codegen(vec8)


@intrinsic
def vload_as(typingctx, like, array, offset):
    """array[offset : offset + lanes] as a vector as wide as ``like`` (Vec8 or Vec4; no bounds check)."""
    _check_vector(like)
    _check_float64_array(array)
    return like(like, array, offset), _load_codegen(like)


@intrinsic
def vstore(typingctx, array, offset, value):
    """array[offset : offset + lanes] = value (a Vec8 or a Vec4)."""
    _check_float64_array(array)
    _check_vector(value)

    def codegen(context, builder, signature, args):
        offset = context.cast(builder, args[1], signature.args[1], types.intp)
        builder.store(args[2], _address(context, builder, signature.args[0], args[0], offset, _llvm_vector(value)), align=8)
        return context.get_dummy_value()
    return types.none(array, offset, value), codegen


@intrinsic
def fetch(typingctx, array, index):
    """array[index] of a contiguous 1-D array, without the negative-index wraparound Numba adds
    to every subscript (a shift and two masks per load in the hottest loops; indices are >= 0)."""
    if not (isinstance(array, types.Array) and array.ndim == 1 and array.layout == "C"):
        raise TypeError(f"at() needs a contiguous 1-D array, got {array}")

    def codegen(context, builder, signature, args):
        index = context.cast(builder, args[1], signature.args[1], types.intp)
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        return builder.load(builder.gep(data, [index]))
    return array.dtype(array, index), codegen


def _partial_operands(context, builder, signature, args):
    """(address of array[offset], lane mask i < count) for the masked loads and stores."""
    offset = context.cast(builder, args[1], signature.args[1], types.intp)
    return (_address(context, builder, signature.args[0], args[0], offset),
            _lane_mask(context, builder, signature.args[2], args[2]))


def _masked_intrinsic(builder, name, return_type, operands):
    """Call llvm.masked.{name} (the vector type is fixed, so declare it by its full name)."""
    function = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(return_type, [o.type for o in operands]),
        f"llvm.masked.{name}.v{WIDTH}f64.p0v{WIDTH}f64")
    return builder.call(function, operands)


@intrinsic
def vload_masked(typingctx, array, offset, count, fill):
    """Lanes i < count from array[offset + i], the others ``fill``, by one masked load (see
    ``vload_partial``)."""
    _check_float64_array(array)

    def codegen(context, builder, signature, args):
        address, mask = _partial_operands(context, builder, signature, args)
        fill = context.cast(builder, args[3], signature.args[3], types.float64)
        splat = _broadcast(builder, fill)
        return _masked_intrinsic(builder, "load", _VECTOR, [address, ir.Constant(ir.IntType(32), 8), mask, splat])
    return vec8(array, offset, count, fill), codegen


@intrinsic
def vstore_masked(typingctx, array, offset, count, vector):
    """array[offset + i] = vector[i] for lanes i < count, by one masked store."""
    _check_float64_array(array)

    def codegen(context, builder, signature, args):
        address, mask = _partial_operands(context, builder, signature, args)
        _masked_intrinsic(builder, "store", ir.VoidType(), [args[3], address, ir.Constant(ir.IntType(32), 8), mask])
        return context.get_dummy_value()
    return types.none(array, offset, count, vec8), codegen


@intrinsic
def vwiden(typingctx, low, fill):
    """A Vec8 of the Vec4 ``low``'s lanes, then four lanes of the float64 ``fill``."""
    if low != vec4:
        raise TypeError(f"vwiden takes a Vec4, got {low}")

    def codegen(context, builder, signature, args):
        fill = _broadcast(builder, context.cast(builder, args[1], signature.args[1], types.float64),
                          _llvm_vector(vec4))
        lanes = ir.Constant(ir.VectorType(ir.IntType(32), WIDTH), list(range(WIDTH)))
        return builder.shuffle_vector(args[0], fill, lanes)
    return vec8(vec4, fill), codegen


@intrinsic
def vlow(typingctx, vector):
    """The Vec4 of a Vec8's first four lanes."""
    def codegen(context, builder, signature, args):
        return _shuffle(builder, args[0], args[0], list(range(NARROW)))
    return vec4(vec8), codegen


@intrinsic
def vhigh(typingctx, vector):
    """The Vec4 of a Vec8's last four lanes."""
    def codegen(context, builder, signature, args):
        return _shuffle(builder, args[0], args[0], list(range(NARROW, WIDTH)))
    return vec4(vec8), codegen


def _shuffle(builder, a, b, lanes):
    """The vector of lanes ``lanes`` of a's lanes followed by b's."""
    return builder.shuffle_vector(a, b, ir.Constant(ir.VectorType(ir.IntType(32), len(lanes)), lanes))


_EVEN_PAIRS, _ODD_PAIRS = [0, 8, 2, 10, 4, 12, 6, 14], [1, 9, 3, 11, 5, 13, 7, 15]
_LOW_PAIRS, _HIGH_PAIRS = [0, 1, 8, 9, 4, 5, 12, 13], [2, 3, 10, 11, 6, 7, 14, 15]
_LOW_HALVES, _HIGH_HALVES = [0, 1, 2, 3, 8, 9, 10, 11], [4, 5, 6, 7, 12, 13, 14, 15]
_FIRST_OF_QUADS, _SECOND_OF_QUADS = [0, 4, 8, 12, 1, 5, 9, 13], [2, 6, 10, 14, 3, 7, 11, 15]


@intrinsic
def vtranspose8(typingctx, rows):
    """The transpose of 8 rows of 8 lanes (a UniTuple of 8 Vec8): vector j holds lane j of every
    row, in row order. Three rounds of eight two-vector shuffles."""
    if rows != types.UniTuple(vec8, WIDTH):
        raise TypeError(f"vtranspose8 takes 8 Vec8, got {rows}")

    def codegen(context, builder, signature, args):
        r = [builder.extract_value(args[0], i) for i in range(WIDTH)]
        pairs = [_shuffle(builder, r[i], r[i + 1], lanes) for i in range(0, WIDTH, 2)
                 for lanes in (_EVEN_PAIRS, _ODD_PAIRS)]                  # rows i, i + 1: even lanes, odd lanes
        quads = [_shuffle(builder, pairs[q + k], pairs[q + k + 2], lanes) for q in (0, 4) for k in (0, 1)
                 for lanes in (_LOW_PAIRS, _HIGH_PAIRS)]                   # rows 4q'..: lanes (0, 4), (2, 6), (1, 5), (3, 7)
        columns = [None] * WIDTH
        for c, lane in enumerate((0, 2, 1, 3)):
            columns[lane] = _shuffle(builder, quads[c], quads[c + 4], _LOW_HALVES)
            columns[lane + 4] = _shuffle(builder, quads[c], quads[c + 4], _HIGH_HALVES)
        return context.make_tuple(builder, signature.return_type, columns)
    return rows(rows), codegen


def _quads(first, second, doc):
    """An intrinsic taking 4 Vec8 (a UniTuple) through two rounds of shuffles: vectors (0, 1) and
    (2, 3) by each of the lane orders ``first``, then the results (0, 2) and (1, 3) by each of ``second``."""
    @intrinsic
    def shuffle_quads(typingctx, vectors):
        if vectors != types.UniTuple(vec8, NARROW):
            raise TypeError(f"takes 4 Vec8, got {vectors}")

        def codegen(context, builder, signature, args):
            v = [builder.extract_value(args[0], i) for i in range(NARROW)]
            x = [_shuffle(builder, v[i], v[i + 1], lanes) for i in (0, 2) for lanes in first]
            out = [_shuffle(builder, x[k], x[k + 2], lanes) for k in (0, 1) for lanes in second]
            return context.make_tuple(builder, signature.return_type, out)
        return vectors(vectors), codegen
    shuffle_quads.__doc__ = doc
    return shuffle_quads


vtranspose_quads = _quads((_FIRST_OF_QUADS, _SECOND_OF_QUADS), (_LOW_HALVES, _HIGH_HALVES),
                          """The 4 vectors of 8 rows of 4 lanes stored one after another (vector p holds rows 2p
    and 2p + 1) -> 4 vectors, vector k holding lane k of every row, in row order.""")
vuntranspose_quads = _quads((_LOW_HALVES, _HIGH_HALVES), (_FIRST_OF_QUADS, _SECOND_OF_QUADS),
                            "The inverse of ``vtranspose_quads``: lane k of 8 rows in vector k -> the rows, two to a vector.")


@njit(cache=True, inline="always")
def vload_partial(array, offset, count, fill):
    """Lanes i < count from array[offset + i], the others ``fill``; nothing past them is read.

    A plain load when count >= WIDTH, and a plain 4-lane one widened when count == NARROW (the
    last 4 lanes of a row): a masked load cannot take its data from a store still in flight (it waits
    for the store to reach the cache), and the posterior loops store a row and read it back at once."""
    if count >= WIDTH:
        return vload(array, offset)
    if count == NARROW:
        return vwiden(vload_as(vzero4(), array, offset), fill)
    return vload_masked(array, offset, count, fill)


@njit(cache=True, inline="always")
def vstore_partial(array, offset, count, vector):
    """array[offset + i] = vector[i] for lanes i < count; nothing past them is written (plain
    stores for count >= WIDTH and count == NARROW, see ``vload_partial``)."""
    if count >= WIDTH:
        vstore(array, offset, vector)
    elif count == NARROW:
        vstore(array, offset, vlow(vector))
    else:
        vstore_masked(array, offset, count, vector)


@intrinsic
def vsum(typingctx, a):
    """The sum of a Vec8's lanes, added in lane order."""
    def codegen(context, builder, signature, args):
        total = builder.extract_element(args[0], ir.Constant(ir.IntType(32), 0))
        for lane in range(1, WIDTH):
            total = builder.fadd(total, builder.extract_element(args[0], ir.Constant(ir.IntType(32), lane)))
        return total
    return types.float64(vec8), codegen


def _lanewise(name, doc):
    @intrinsic
    def operation(typingctx, a, b):
        _check_vector(a)
        if a != b:
            raise TypeError(f"lane-wise operations need two vectors of one width, got {a} and {b}")

        def codegen(context, builder, signature, args):
            return getattr(builder, name)(args[0], args[1])
        return a(a, b), codegen
    operation.__doc__ = doc
    return operation


vadd = _lanewise("fadd", "a + b, lane-wise.")
vsub = _lanewise("fsub", "a - b, lane-wise.")
vmul = _lanewise("fmul", "a * b, lane-wise.")
vdiv = _lanewise("fdiv", "a / b, lane-wise.")


@njit(cache=True)
def aligned_zeros(n):
    """(n,) float64 zeros starting on a 64-byte boundary, so no Vec8 at a multiple of 8 straddles
    two cache lines (NumPy aligns large arrays to 16 bytes only; a split access costs several times more)."""
    buffer = np.zeros(n + WIDTH)
    skip = (-(buffer.ctypes.data // 8)) % WIDTH
    return buffer[skip:skip + n]


@njit(cache=True)
def pad_columns(a, fill=0.0, Kp=0):
    """(d * Kp,) the rows of a (d, K) float64 array padded to Kp lanes (0: padded(K)) with ``fill``, flat, 64-byte aligned."""
    d, K = a.shape
    Kp = Kp if Kp > 0 else padded(K)
    out = aligned_zeros(d * Kp)
    for i in range(d):
        for j in range(Kp):
            out[i * Kp + j] = a[i, j] if j < K else fill
    return out


@njit(cache=True)
def unpad_columns(flat, K, Kp=0):
    """(d, K) from a flat (d * Kp,) array of rows padded to Kp lanes (0: padded(K))."""
    Kp = Kp if Kp > 0 else padded(K)
    d = flat.shape[0] // Kp
    out = np.empty((d, K))
    for i in range(d):
        for j in range(K):
            out[i, j] = flat[i * Kp + j]
    return out


_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01   # fdlibm's split of ln 2: _LN2_HI has 32 trailing zero bits
_LN2_LO = 1.90821492927058770002e-10
_EXP_TERMS = 14                        # Taylor terms of e^r, |r| <= ln(2)/2: truncation < 1e-17 relative


def _splat(value):
    return ir.Constant(_VECTOR, [value] * WIDTH)


@intrinsic
def vmax(typingctx, a, b):
    """max(a, b) lane-wise (b where either is NaN)."""
    def codegen(context, builder, signature, args):
        return builder.select(builder.fcmp_ordered(">", args[0], args[1]), args[0], args[1])
    return vec8(vec8, vec8), codegen


def _halves(builder, vector, combine):
    """Combine a vector's upper and lower halves lane by lane until one lane is left: a tree of
    log2(WIDTH) steps (lanes i and i + WIDTH / 2, then i and i + WIDTH / 4, ...)."""
    width = WIDTH
    while width > 1:
        width //= 2
        low = builder.shuffle_vector(vector, vector, ir.Constant(ir.VectorType(ir.IntType(32), width), list(range(width))))
        high = builder.shuffle_vector(vector, vector, ir.Constant(ir.VectorType(ir.IntType(32), width),
                                                                  list(range(width, 2 * width))))
        vector = combine(low, high)
    return builder.extract_element(vector, ir.Constant(ir.IntType(32), 0))


@intrinsic
def vmax_lanes(typingctx, a):
    """The largest of a Vec8's lanes, which must not be NaN (a tree of three lane-wise maxima)."""
    def codegen(context, builder, signature, args):
        return _halves(builder, args[0], lambda x, y: builder.select(builder.fcmp_ordered(">", x, y), x, y))
    return types.float64(vec8), codegen


@intrinsic
def vsum_tree(typingctx, a):
    """The sum of a Vec8's lanes as a tree of three lane-wise additions (lanes i and i + 4, then
    i and i + 2, then 0 and 1): a shorter dependency chain than ``vsum``'s lane order, rounded differently."""
    def codegen(context, builder, signature, args):
        return _halves(builder, args[0], builder.fadd)
    return types.float64(vec8), codegen


@intrinsic
def vflush(typingctx, a, threshold):
    """a with every lane below the float64 ``threshold`` set to 0."""
    def codegen(context, builder, signature, args):
        t = context.cast(builder, args[1], signature.args[1], types.float64)
        splat = _broadcast(builder, t)
        return builder.select(builder.fcmp_ordered("<", args[0], splat), _splat(0.0), args[0])
    return vec8(vec8, threshold), codegen


_LOG_SMALLEST_NORMAL = -708.3964185322641   # log(2.2250738585072014e-308)
_EXP_COEFFICIENTS = [1.0 / np.prod(np.arange(1.0, k + 1.0)) for k in range(_EXP_TERMS)]   # 1 / k!
_ROUNDING_SHIFTER = 1.5 * 2.0 ** 52   # y + shifter - shifter = round(y) for |y| < 2^51; y + shifter keeps round(y) in its low bits
_SHIFTER_BIAS = 1023 - 0x4338000000000000   # (bits of y + shifter) + this = round(y) + 1023, the biased exponent of 2^round(y)


def _fma(builder, a, b, c):
    """a * b + c lane-wise, rounded once (llvm.fma)."""
    vector = a.type
    fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vector, [vector] * 3),
                                         f"llvm.fma.v{vector.count}f64")
    return builder.call(fma, [a, b, c])


@intrinsic
def vexp_normal(typingctx, a):
    """e^a lane-wise for a <= 0 (or -inf), with results below the smallest normal float64 set to 0.

    For posteriors, exponentials of log-joints shifted by their maximum: range reduction
    a = n ln 2 + r with |r| <= ln(2)/2 (fdlibm's two-part ln 2), a degree-13 Taylor polynomial for
    e^r with fused multiply-adds by Estrin's scheme (a dependency chain about 3 times shorter than
    Horner's), n rounded and turned into 2^n by the 1.5 * 2^52 shifter. Lanes below log(smallest
    normal) never enter the arithmetic, so no subnormal number is formed (they cost x86 arithmetic
    ~100 times). Within 2 ulp of libm's exp.
    """
    def codegen(context, builder, signature, args):
        x = args[0]
        i64 = ir.VectorType(ir.IntType(64), WIDTH)
        below = builder.fcmp_ordered("<", x, _splat(_LOG_SMALLEST_NORMAL))
        safe = builder.select(below, _splat(0.0), x)   # lanes whose result is 0 compute e^0 instead
        shifted = _fma(builder, safe, _splat(_LOG2E), _splat(_ROUNDING_SHIFTER))   # n in the low bits
        n = builder.fsub(shifted, _splat(_ROUNDING_SHIFTER))                        # round(x log2 e)
        r = _fma(builder, n, _splat(-_LN2_LO), _fma(builder, n, _splat(-_LN2_HI), safe))
        c = [_splat(value) for value in _EXP_COEFFICIENTS]
        pairs = [_fma(builder, c[k + 1], r, c[k]) for k in range(0, _EXP_TERMS, 2)]   # c_k + c_k+1 r
        power = r
        while len(pairs) > 1:
            power = builder.fmul(power, power)
            pairs = [_fma(builder, pairs[k + 1], power, pairs[k]) if k + 1 < len(pairs) else pairs[k]
                     for k in range(0, len(pairs), 2)]
        biased = builder.shl(builder.add(builder.bitcast(shifted, i64), ir.Constant(i64, [_SHIFTER_BIAS] * WIDTH)),
                             ir.Constant(i64, [52] * WIDTH))
        value = builder.fmul(pairs[0], builder.bitcast(biased, _VECTOR))
        return builder.select(below, _splat(0.0), value)
    return vec8(vec8), codegen


@intrinsic
def vfind(typingctx, a, x):
    """The first lane of ``a`` equal to the float64 ``x``, or WIDTH when none is (NaN never is)."""
    def codegen(context, builder, signature, args):
        x = context.cast(builder, args[1], signature.args[1], types.float64)
        splat = _broadcast(builder, x)
        bits = builder.bitcast(builder.fcmp_ordered("==", args[0], splat), ir.IntType(WIDTH))
        wide = builder.or_(builder.zext(bits, ir.IntType(64)), ir.Constant(ir.IntType(64), 1 << WIDTH))
        cttz = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(64), [ir.IntType(64), ir.IntType(1)]),
                                              "llvm.cttz.i64")
        return builder.call(cttz, [wide, ir.Constant(ir.IntType(1), 1)])
    return types.int64(vec8, x), codegen


@intrinsic
def vfma(typingctx, a, b, c):
    """a * b + c lane-wise, rounded once (a fused multiply-add), of three Vec8 or three Vec4."""
    _check_vector(a)
    if not a == b == c:
        raise TypeError(f"vfma needs three vectors of one width, got {a}, {b} and {c}")

    def codegen(context, builder, signature, args):
        return _fma(builder, *args)
    return a(a, a, a), codegen


@intrinsic
def prefetch_for_write(typingctx, array, offset):
    """Ask for the cache line holding array[offset] ahead of a store to it (llvm.prefetch, write,
    keep in all levels). A hint only: it never faults, so offset may lie anywhere in the array."""
    _check_float64_array(array)

    def codegen(context, builder, signature, args):
        offset = context.cast(builder, args[1], signature.args[1], types.intp)
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        byte = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        prefetch = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [byte, i32, i32, i32]),
                                                  "llvm.prefetch.p0i8")
        builder.call(prefetch, [builder.bitcast(builder.gep(data, [offset]), byte), ir.Constant(i32, 1),
                                ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()
    return types.none(array, offset), codegen
