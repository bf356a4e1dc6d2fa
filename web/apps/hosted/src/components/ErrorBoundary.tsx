import { Component, type ErrorInfo, type ReactNode } from 'react';
import { Alert, Frame } from './Frame';

/**
 * The last resort around the whole app: an error thrown while rendering shows a message
 * (and a way on) instead of a blank page. Errors of event handlers and requests are
 * each page's to show; they never reach here.
 */
export class ErrorBoundary extends Component<{ children: ReactNode }, { failed: boolean }> {
  override state = { failed: false };

  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true };
  }

  override componentDidCatch(error: unknown, info: ErrorInfo): void {
    console.error('The page failed:', error, info.componentStack);
  }

  override render(): ReactNode {
    if (!this.state.failed) return this.props.children;
    return (
      <Frame project={null}>
        <h1 tabIndex={-1}>Something went wrong</h1>
        <Alert>This page ran into a problem and cannot go on.</Alert>
        <p>
          Reload the page to try again, or go back to the app you came from and start again. If you were signing in,
          you are not signed in yet.
        </p>
        <div className="actions">
          <button type="button" onClick={() => window.location.reload()}>
            Reload the page
          </button>
        </div>
      </Frame>
    );
  }
}
