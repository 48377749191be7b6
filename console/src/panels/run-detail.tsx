import { NotBuilt } from './not-built';

export function RunDetail({ id }: { id: string }) {
  return <NotBuilt title={`Run ${id}`} />;
}
