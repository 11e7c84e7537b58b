import { getOption, hasOption, type AnyDesc, type DescExtension } from "@bufbuild/protobuf";
import type { GenExtension } from "@bufbuild/protobuf/codegenv2";
import type {
  EnumOptions,
  EnumValueOptions,
  FieldOptions,
  FileOptions,
  MessageOptions,
  MethodOptions,
  OneofOptions,
  ServiceOptions,
} from "@bufbuild/protobuf/wkt";

/** The google.protobuf.*Options message that holds the options of each kind of descriptor. */
interface OptionsOf {
  file: FileOptions;
  enum: EnumOptions;
  enum_value: EnumValueOptions;
  message: MessageOptions;
  field: FieldOptions;
  extension: FieldOptions;
  oneof: OneofOptions;
  service: ServiceOptions;
  rpc: MethodOptions;
}

/** Option values by extension, then by descriptor; null records an option that is not set. */
const caches = new WeakMap<DescExtension, WeakMap<AnyDesc, unknown>>();

/**
 * The value of an option on a descriptor, or undefined when it is not set. Read from the
 * descriptor once per option (reading an option allocates), then kept for the descriptor's life.
 */
export function cachedOption<Desc extends AnyDesc, Value>(desc: Desc, extension: GenExtension<OptionsOf[Desc["kind"]], Value>): Value | undefined {
  let cache = caches.get(extension);
  if (!cache) {
    cache = new WeakMap();
    caches.set(extension, cache);
  }
  let cached = cache.get(desc) as Value | null | undefined;
  if (cached === undefined) {
    // The signature pairs the descriptor's kind with the extension's extendee, which is what
    // hasOption and getOption check for their own (unexported) constraint.
    cached = hasOption(desc as never, extension) ? (getOption(desc as never, extension) as Value) : null;
    cache.set(desc, cached);
  }
  return cached ?? undefined;
}
