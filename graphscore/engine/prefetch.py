"""Asking the processor for memory a compiled loop will read soon (LLVM's ``prefetch``).

A push follows links in the order of its queue: the entity it pushes next, its column of W and
the end of that column are all at places in memory nothing before predicts, so each costs a wait
for main memory once the register is many times the cache. The queue says which entity comes a
few pushes later: asking for its data then lets those waits overlap with the pushes in between
(:mod:`graphscore.engine.push`). A prefetch changes no value, only when memory arrives.
"""

from __future__ import annotations

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

__all__ = ["prefetch"]


@intrinsic
def prefetch(typingctx, array, index):  # pragma: no cover - compiled
    """In a numba-compiled function, ``prefetch(array, i)``: fetch the cache line holding
    ``array[i]`` (the row ``i`` of a 2-d array) into every cache level."""
    signature = types.void(array, index)

    def codegen(context, builder, signature, arguments):
        array_type, index_type = signature.args
        data = context.make_array(array_type)(context, builder, arguments[0])
        # any integer index (an int32 queue's entry too), as the address arithmetic's intp
        index = context.cast(builder, arguments[1], index_type, types.intp)
        indices = [index] + [context.get_constant(types.intp, 0)] * (array_type.ndim - 1)
        pointer = cgutils.get_item_pointer(context, builder, array_type, data, indices, wraparound=False)
        byte_pointer = ir.IntType(8).as_pointer()
        int32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, int32, int32, int32]), "llvm.prefetch.p0i8")
        # (address, 0 = to read, 3 = keep in every cache level, 1 = data, not instructions)
        builder.call(function, [builder.bitcast(pointer, byte_pointer), int32(0), int32(3), int32(1)])
        return context.get_dummy_value()

    return signature, codegen
