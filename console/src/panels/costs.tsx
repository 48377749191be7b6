import { NotBuilt } from './not-built';

export function Costs() {
  return <NotBuilt title={'Costs'} />;
}
