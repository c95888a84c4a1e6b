/**
 * aws-local-stepfunctions calls Promise.withResolvers, which Node has from 22 on; this machine and
 * many developers' run Node 20. Imported before the library, it adds the standard behaviour.
 */
interface WithResolvers {
  withResolvers?<T>(): { promise: Promise<T>; resolve: (value: T | PromiseLike<T>) => void; reject: (reason?: unknown) => void };
}

const promiseConstructor = Promise as unknown as WithResolvers;
promiseConstructor.withResolvers ??= function withResolvers<T>() {
  let resolve!: (value: T | PromiseLike<T>) => void;
  let reject!: (reason?: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

export {};
