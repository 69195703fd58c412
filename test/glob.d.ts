/** Vite's `import.meta.glob` (only its eager `?raw` form is used here: file texts, for architecture checks). */
interface ImportMeta {
  glob(
    pattern: string | string[],
    options: { query: "?raw"; import: "default"; eager: true },
  ): Record<string, string>;
}
