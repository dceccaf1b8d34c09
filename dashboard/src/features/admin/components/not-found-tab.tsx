import { EmptyState } from "@/components/ui/states";

export function NotFoundTab() {
  return <EmptyState title="No such section" description="Pick one of the tabs above." />;
}
