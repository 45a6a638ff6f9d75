// Starts Swagger UI on this API's own document. The page's <base> is its /docs/ folder, so
// data-url="../openapi.json" is GET /openapi.json of the same API, stage included. No
// validator badge: nothing is fetched from another origin.
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: new URL(root.dataset.url, document.baseURI).href,
    domNode: root,
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
