import { NotBuilt } from './not-built';

export function Patches() {
  return <NotBuilt title={'Patches'} />;
}
