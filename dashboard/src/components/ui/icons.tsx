/** A handful of inline icons (no icon font, no extra dependency). */
import type { SVGProps } from "react";

function Icon(props: SVGProps<SVGSVGElement>) {
  return <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth={1.8} strokeLinecap="round" strokeLinejoin="round" aria-hidden className="size-5" {...props} />;
}

export const BoltIcon = (p: SVGProps<SVGSVGElement>) => (<Icon {...p}><path d="M13 2 4 14h7l-1 8 9-12h-7z" /></Icon>);
export const HomeIcon = (p: SVGProps<SVGSVGElement>) => (<Icon {...p}><path d="M3 11 12 4l9 7" /><path d="M5 10v10h14V10" /></Icon>);
export const ChartIcon = (p: SVGProps<SVGSVGElement>) => (<Icon {...p}><path d="M4 19V5" /><path d="M4 19h16" /><path d="m7 15 4-5 3 3 5-6" /></Icon>);
export const ReceiptIcon = (p: SVGProps<SVGSVGElement>) => (<Icon {...p}><path d="M6 3h12v18l-3-2-3 2-3-2-3 2z" /><path d="M9 8h6M9 12h6" /></Icon>);
export const BlocksIcon = (p: SVGProps<SVGSVGElement>) => (<Icon {...p}><rect x="3" y="3" width="7" height="7" rx="1" /><rect x="14" y="3" width="7" height="7" rx="1" /><rect x="3" y="14" width="7" height="7" rx="1" /><path d="M10 6.5h4M6.5 10v4" /></Icon>);
export const DownloadIcon = (p: SVGProps<SVGSVGElement>) => (<Icon {...p}><path d="M12 4v11" /><path d="m7 10 5 5 5-5" /><path d="M5 20h14" /></Icon>);
export const ShieldIcon = (p: SVGProps<SVGSVGElement>) => (<Icon {...p}><path d="M12 3 5 6v6c0 4 3 7.5 7 9 4-1.5 7-5 7-9V6z" /></Icon>);
export const CheckIcon = (p: SVGProps<SVGSVGElement>) => (<Icon {...p}><path d="m5 12 5 5 9-10" /></Icon>);
export const XIcon = (p: SVGProps<SVGSVGElement>) => (<Icon {...p}><path d="M6 6l12 12M18 6 6 18" /></Icon>);
export const MenuIcon = (p: SVGProps<SVGSVGElement>) => (<Icon {...p}><path d="M4 7h16M4 12h16M4 17h16" /></Icon>);
export const LogoutIcon = (p: SVGProps<SVGSVGElement>) => (<Icon {...p}><path d="M15 4h4v16h-4" /><path d="M10 8l-4 4 4 4" /><path d="M6 12h10" /></Icon>);
export const AlertIcon = (p: SVGProps<SVGSVGElement>) => (<Icon {...p}><path d="M12 3 2 20h20z" /><path d="M12 10v4M12 17h.01" /></Icon>);
export const ClockIcon = (p: SVGProps<SVGSVGElement>) => (<Icon {...p}><circle cx="12" cy="12" r="9" /><path d="M12 7v5l3 2" /></Icon>);
export const UsersIcon = (p: SVGProps<SVGSVGElement>) => (<Icon {...p}><circle cx="9" cy="8" r="3.5" /><path d="M2.5 20c.5-3.5 3.2-5.5 6.5-5.5s6 2 6.5 5.5" /><path d="M16 4.5a3.5 3.5 0 0 1 0 7M18 14.5c2 .6 3.2 2.6 3.5 5.5" /></Icon>);
export const LogoMark = () => (
  <svg viewBox="0 0 32 32" className="size-8" aria-hidden>
    <rect width="32" height="32" rx="8" fill="#0f766e" />
    <path d="M18 4 8 18h7l-2 10 10-14h-7z" fill="#fde68a" />
  </svg>
);
