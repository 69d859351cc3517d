// The app's JavaScript, bundled by esbuild into priv/static/assets/app.js.
console.log("phoenix assets");
