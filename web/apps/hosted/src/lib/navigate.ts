/** Leave for another site (the app the sign-in returns to). */
export function leaveTo(url: string): void {
  window.location.assign(url);
}
