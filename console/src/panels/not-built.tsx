/** A panel of issue 19 that a later step builds: its place in the navigation and its deep link already work. */
export function NotBuilt({ title }: { title: string }) {
  return <h1>{title}: not built yet</h1>;
}
