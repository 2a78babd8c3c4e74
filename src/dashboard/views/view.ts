/** What a page renders: its DOM, and hooks for what needs the DOM (charts) or must be torn down. */
export interface View {
  /** The document title's first part. */
  title: string;
  node: HTMLElement;
  /** Runs once `node` is in the document. */
  mount?(): void;
  destroy?(): void;
}
