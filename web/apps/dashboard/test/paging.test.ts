import { describe, expect, it } from 'vitest';
import {
  FIRST_PAGE,
  back,
  canGoBack,
  currentCursor,
  forward,
  pageLabel,
  pageNumber,
  parsePageSize,
} from '../src/lib/paging';

describe('cursor paging', () => {
  it('starts on the first page, without a cursor', () => {
    expect(currentCursor(FIRST_PAGE)).toBeNull();
    expect(pageNumber(FIRST_PAGE)).toBe(1);
    expect(canGoBack(FIRST_PAGE)).toBe(false);
  });

  it('goes forward with the next cursor an answer gave, and back down the trail', () => {
    const two = forward(FIRST_PAGE, '42');
    const three = forward(two, '17');
    expect(currentCursor(two)).toBe('42');
    expect(currentCursor(three)).toBe('17');
    expect(pageNumber(three)).toBe(3);
    expect(back(three)).toEqual(two);
    expect(currentCursor(back(back(three)))).toBeNull();
    expect(canGoBack(two)).toBe(true);
  });

  it('stays on the first page when asked to go back from it', () => {
    expect(back(FIRST_PAGE)).toBe(FIRST_PAGE);
    expect(back(back(forward(FIRST_PAGE, 'x')))).toEqual(FIRST_PAGE);
  });

  it('never changes a trail in place', () => {
    const two = forward(FIRST_PAGE, 'a');
    forward(two, 'b');
    back(two);
    expect(two).toEqual([null, 'a']);
    expect(FIRST_PAGE).toEqual([null]);
  });

  it('says where the list is', () => {
    expect(pageLabel(FIRST_PAGE, 25, 25)).toBe('Page 1 · rows 1–25');
    expect(pageLabel(forward(FIRST_PAGE, 'c'), 10, 2)).toBe('Page 2 · rows 11–12');
    expect(pageLabel(forward(FIRST_PAGE, 'c'), 10, 0)).toBe('Page 2');
  });

  it('takes page sizes the API accepts (1–100) and falls back otherwise', () => {
    expect(parsePageSize('10')).toBe(10);
    expect(parsePageSize('2')).toBe(2);
    expect(parsePageSize('100')).toBe(100);
    expect(parsePageSize(null)).toBe(25);
    expect(parsePageSize('0')).toBe(25);
    expect(parsePageSize('101')).toBe(25);
    expect(parsePageSize('2.5')).toBe(25);
    expect(parsePageSize('ten', 50)).toBe(50);
  });
});
