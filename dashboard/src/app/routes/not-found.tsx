import { Link } from "react-router";

export function NotFound() {
  return (
    <div className="mx-auto mt-12 max-w-md text-center">
      <p className="text-sm font-semibold text-brand-700">404</p>
      <h1 className="mt-2 text-xl font-semibold text-slate-900">Page not found</h1>
      <Link to="/" className="mt-6 inline-flex text-sm font-medium text-brand-700 hover:underline">
        Back to the overview
      </Link>
    </div>
  );
}
