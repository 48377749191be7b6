import { NotBuilt } from './not-built';

export function WorkerDetail({ id }: { id: string }) {
  return <NotBuilt title={`Worker ${id}`} />;
}
