import * as tf from '@tensorflow/tfjs';

/**
 * One of sag's process-wide changes to tfjs (a gradient or a backend kernel replaced by a faster or corrected
 * one), which can be installed and uninstalled, restoring exactly what tfjs had.
 */
export interface Replacement {
  /** What is replaced and why, for `sag info` and the docs. */
  readonly what: string;
  readonly installed: boolean;
  /** Installs it; false when it cannot be installed yet (its backend is not loaded). Idempotent. */
  install(): boolean;
  /** Restores tfjs's own gradient or kernel. Idempotent. */
  uninstall(): void;
}

/** Replaces the gradient of `config.kernelName` on every backend. */
export function gradientReplacement(what: string, config: tf.GradConfig): Replacement {
  let stock: tf.GradConfig | undefined;
  let installed = false;
  return {
    what,
    get installed() {
      return installed;
    },
    install() {
      if (installed) return true;
      stock = tf.getGradient(config.kernelName);
      tf.registerGradient(config);
      installed = true;
      return true;
    },
    uninstall() {
      if (!installed) return;
      // tfjs has no unregisterGradient; re-registering the stock config puts it back.
      if (stock) tf.registerGradient(stock);
      installed = false;
    },
  };
}

/** Replaces one backend's kernel; `replace` receives tfjs's kernel to delegate to. */
export function kernelReplacement(
  what: string,
  kernelName: string,
  backendName: string,
  replace: (stock: tf.KernelConfig) => tf.KernelFunc,
): Replacement {
  let stock: tf.KernelConfig | undefined;
  let installed = false;
  return {
    what,
    get installed() {
      return installed;
    },
    install() {
      if (installed) return true;
      stock = tf.getKernel(kernelName, backendName);
      if (!stock) return false;
      tf.unregisterKernel(kernelName, backendName);
      tf.registerKernel({ ...stock, kernelFunc: replace(stock) });
      installed = true;
      return true;
    },
    uninstall() {
      if (!installed || !stock) return;
      tf.unregisterKernel(kernelName, backendName);
      tf.registerKernel(stock);
      installed = false;
    },
  };
}
