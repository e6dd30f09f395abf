import '../core/polyfill.js';
import '../core/nativeCrypto.js';
