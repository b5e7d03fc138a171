  var CANCELLED = "사용자에 의해 결제가 취소되었습니다.";

  /** The window type on a PC (the sandbox's only platform): IFRAME unless POPUP or REDIRECTION. */
  function windowMode(request) {
    var types = request.windowType || {};
    var type = types.pc;
    return type === "REDIRECTION" ? "redirect" : type === "POPUP" ? "popup" : "iframe";
  }

  function run(kind, request) {
    request = Object.assign({}, request);
    if (request.redirectUrl !== undefined) request.redirectUrl = absolute(request.redirectUrl);
    var transactionType = kind === "billing" ? "ISSUE_BILLING_KEY" : "PAYMENT";
    return new Promise(function (resolve) {
      openWindow(
        { key: request.storeId, kind: kind, mode: windowMode(request), request: request },
        function (result) {
          resolve(result);
        },
        function () {
          var result = {
            transactionType: transactionType,
            code: "FAILURE_TYPE_PG",
            message: "[PAY_PROCESS_CANCELED] " + CANCELLED,
            pgCode: "PAY_PROCESS_CANCELED",
            pgMessage: CANCELLED
          };
          if (kind === "payment") {
            result.paymentId = request.paymentId;
            result.txId = "tx-cancelled-" + Date.now().toString(36);
          }
          resolve(result);
        }
      );
    });
  }

  /**
   * `PortOne.requestPayment({storeId, channelKey, paymentId, orderName, totalAmount,
   * currency, payMethod, redirectUrl, windowType, …})` resolves with `{transactionType,
   * txId, paymentId, code?, message?}`; `PortOne.requestIssueBillingKey({storeId,
   * channelKey, billingKeyMethod, …})` with `{transactionType, billingKey, code?, message?}`.
   * With `windowType: {pc: "REDIRECTION"}` the page goes to the window, then to
   * `redirectUrl` with the same fields in its query.
   */
  window.PortOne = {
    requestPayment: function (request) {
      return run("payment", request || {});
    },
    requestIssueBillingKey: function (request) {
      return run("billing", request || {});
    }
  };
