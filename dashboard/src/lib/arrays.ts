/**
 * Checked element access for lists whose length the caller has already established (the
 * tsconfig's noUncheckedIndexedAccess types `list[i]` as possibly undefined): a broken
 * assumption throws here, with the index, instead of travelling on as `undefined`.
 */
export function itemAt<T>(list: ArrayLike<T>, index: number): T {
  const item = list[index];
  if (item === undefined) throw new RangeError(`no item at index ${index} of ${list.length}`);
  return item;
}

export function lastItem<T>(list: ArrayLike<T>): T {
  return itemAt(list, list.length - 1);
}
