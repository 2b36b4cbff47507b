import { LoginForm } from '@/components/access/LoginForm';

export const dynamic = 'force-dynamic';

const REASONS: Record<string, string> = {
  token: 'That sign-in link is not valid (the server makes a new one at each start): sign in with a user, or open the link it printed.',
  throttled: 'Too many failed attempts: wait a moment and try again.',
};

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const q = await searchParams;
  const error = typeof q.error === 'string' ? (REASONS[q.error] ?? null) : null;
  const next = typeof q.next === 'string' ? q.next : '/';
  return (
    <main className="signin">
      <h1>Sign in to Grimoire</h1>
      <LoginForm next={next} initialError={error} />
      <p className="muted">
        On your own machine with no users, open the link <code>grimoire start</code> printed. To add a user: <code>npx grimoire users add &lt;name&gt; --role owner</code>.
      </p>
    </main>
  );
}
