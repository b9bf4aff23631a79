"""Look-ups on sorted columns, for the scrub and the batch: phone numbers as integers, binary
searches of a batch's values in sorted unique keys (no hash table of millions of keys built per
batch), and a batch's numbers sorted once (:class:`Probe`)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


def phone_numbers(contacts: pl.Series) -> pl.Series:
    """The integer of each E.164 number (``+33612345678`` -> 33612345678), null for anything
    else (e-mail addresses, null): the key of the joins, as the opposition lists store them."""
    digits = contacts.str.slice(1).cast(pl.Int64, strict=False)
    plus = contacts.str.starts_with("+")
    return pl.select(pl.when(plus).then(digits)).to_series().alias("number")


def search(keys: pl.Series, probe: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Where each ``probe`` is or would be in ``keys`` (sorted, unique, not empty), and whether
    it is there: a binary search, no hash table of millions of keys built per batch."""
    at = keys.search_sorted(probe.fill_null(keys[0]), side="left").clip(0, len(keys) - 1)
    return at, (keys.gather(at) == probe).fill_null(False)


def holds(keys: pl.Series, probe: pl.Series) -> pl.Series:
    """Whether each ``probe`` is in ``keys`` (sorted, unique, perhaps empty); null: no."""
    if not len(keys):
        return pl.zeros(len(probe), pl.Boolean, eager=True)
    return search(keys, probe)[1]


def lookup(keys: pl.Series, values: pl.Series, probe: pl.Series) -> pl.Series:
    """``values`` at each ``probe`` in ``keys`` (sorted, unique), null where it is absent."""
    if not len(keys):
        return pl.Series(values.name, [None] * len(probe), dtype=values.dtype)
    at, found = search(keys, probe)
    return pl.select(pl.when(found).then(values.gather(at))).to_series().alias(values.name)


@dataclass(frozen=True)
class Probe:
    """A batch's ``phone_numbers``, also sorted: the binary searches of sorted probes follow
    the same paths one after the other, in cache (measured on 1 M random numbers in 1.6 M
    keys: 0.28 s in row order, 0.21 s sort included; more in a 12 M list). The answers found
    in sorted order are put back in row order by :meth:`back`."""

    numbers: pl.Series  # in row order
    order: pl.Series  # numbers.arg_sort()
    ordered: pl.Series  # numbers sorted, nulls last

    @classmethod
    def of(cls, numbers: pl.Series) -> Probe:
        order = numbers.arg_sort(nulls_last=True)
        return cls(numbers, order, numbers.gather(order))

    def back(self, found: pl.Series) -> pl.Series:
        """``found`` (one value per sorted number) in the rows' order."""
        if not len(found):
            return found
        rows = pl.Series(found.name, [None], dtype=found.dtype).extend_constant(
            None, len(found) - 1
        )
        return rows.scatter(self.order, found)
