import type { ReactNode } from 'react';
import './globals.css';

export const metadata = { title: 'Grimoire', description: 'Pipeline notebook IDE' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
