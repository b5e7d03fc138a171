  var CANCELLED = "사용자에 의해 결제가 취소되었습니다.";

  function sdkError(code, message) {
    var error = new Error(message);
    error.code = code;
    return error;
  }

  /**
   * Opens Toss's window for `request` (the v1 shape). With a successUrl the page goes to
   * successUrl or failUrl when the window ends, as the real SDK does; without one the
   * promise settles: `{paymentType, paymentKey, orderId, amount}` (or `{authKey,
   * customerKey}`), or an error with `code` and `message`. `windowTarget: "self"` shows
   * the window as a full page; "popup" (the sandbox's own value) in a popup; anything else
   * as an iframe over the page.
   */
  function start(clientKey, kind, request) {
    request = Object.assign({}, request);
    ["successUrl", "failUrl"].forEach(function (field) {
      if (request[field] !== undefined) request[field] = absolute(request[field]);
    });
    var redirects = kind === "billing" || request.successUrl !== undefined;
    var target = request.windowTarget;
    var mode = target === "self" ? "redirect" : target === "popup" ? "popup" : "iframe";
    if (mode === "redirect" && !redirects) {
      return Promise.reject(sdkError("INVALID_PARAMETERS", "windowTarget self needs successUrl and failUrl"));
    }
    return new Promise(function (resolve, reject) {
      openWindow(
        { key: clientKey, kind: kind, mode: mode, request: request },
        function (result, redirect) {
          if (redirects) {
            window.location.href = redirect;
          } else if (result && result.code) {
            reject(sdkError(result.code, result.message));
          } else {
            resolve(result);
          }
        },
        function () {
          if (redirects && request.failUrl) {
            var url = new URL(request.failUrl);
            url.searchParams.set("code", "PAY_PROCESS_CANCELED");
            url.searchParams.set("message", CANCELLED);
            if (request.orderId !== undefined) url.searchParams.set("orderId", request.orderId);
            window.location.href = url.href;
          } else {
            reject(sdkError("USER_CANCEL", CANCELLED));
          }
        }
      );
    });
  }

  function checkKey(clientKey) {
    if (typeof clientKey !== "string" || clientKey.indexOf("test_ck_") !== 0) {
      throw sdkError("INVALID_CLIENT_KEY", "the sandbox takes client keys test_ck_…, got " + clientKey);
    }
  }
