// Loads the TypeScript delivery thread: module hooks (tsx) registered in the main thread do not
// reach worker threads, so the thread registers its own.
import { register } from "tsx/esm/api";

register();
await import("./delivery-thread.ts");
