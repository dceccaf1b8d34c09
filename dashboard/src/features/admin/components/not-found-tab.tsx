import { EmptyState } from "@/components/ui/states";
import { useT } from "@/lib/i18n";

export function NotFoundTab() {
  const t = useT().admin;
  return <EmptyState title={t.noSection} description={t.pickTab} />;
}
