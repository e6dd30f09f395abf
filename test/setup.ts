import '../core/polyfill.js';
