'use client';
import dynamic from 'next/dynamic';

/** Monaco, loaded in the browser only (it needs window), for blocks' and add-ons' code alike. */
export const LazyBlockEditor = dynamic(() => import('./BlockEditor'), { ssr: false, loading: () => <div className="muted code">Loading editor…</div> });
