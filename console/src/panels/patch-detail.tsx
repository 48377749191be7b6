import { NotBuilt } from './not-built';

export function PatchDetail({ id }: { id: string }) {
  return <NotBuilt title={`Patch ${id}`} />;
}
