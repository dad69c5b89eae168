// Placeholder replaced by the native-addon work: exits 0 so that `npm install` succeeds without an addon.
console.log('fedmm: native addon not built yet (TypeScript backend only)');
