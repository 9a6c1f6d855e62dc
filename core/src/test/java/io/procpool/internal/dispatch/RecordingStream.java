package io.procpool.internal.dispatch;

import io.grpc.stub.ServerCallStreamObserver;
import io.procpool.proto.v1.ParentMessage;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** The parent's side of a worker stream, recording what is sent on it. */
class RecordingStream extends ServerCallStreamObserver<ParentMessage> {
  final List<ParentMessage> sent = new CopyOnWriteArrayList<>();
  volatile boolean completed;

  @Override
  public void onNext(ParentMessage value) {
    sent.add(value);
  }

  @Override
  public void onError(Throwable t) {
    completed = true;
  }

  @Override
  public void onCompleted() {
    completed = true;
  }

  @Override
  public boolean isCancelled() {
    return false;
  }

  @Override
  public void setOnCancelHandler(Runnable onCancelHandler) {}

  @Override
  public void setCompression(String compression) {}

  @Override
  public boolean isReady() {
    return true;
  }

  @Override
  public void setOnReadyHandler(Runnable onReadyHandler) {}

  @Override
  public void disableAutoInboundFlowControl() {}

  @Override
  public void request(int count) {}

  @Override
  public void setMessageCompression(boolean enable) {}
}
