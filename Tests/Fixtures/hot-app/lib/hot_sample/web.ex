defmodule HotSample.Web do
  use Task, restart: :permanent
  def start_link(port), do: Task.start_link(__MODULE__, :listen, [port])
  def listen(port) do
    {:ok, socket} = :gen_tcp.listen(port, [:binary, packet: :http_bin, active: false, reuseaddr: true, ip: {127, 0, 0, 1}])
    accept(socket)
  end
  defp accept(socket) do
    {:ok, client} = :gen_tcp.accept(socket)
    spawn(fn -> serve(client) end)
    accept(socket)
  end
  defp serve(client) do
    {:ok, {:http_request, _, {:abs_path, path}, _}} = :gen_tcp.recv(client, 0)
    drain(client)
    body = HotSample.Page.render(path)
    :gen_tcp.send(client, ["HTTP/1.1 200 OK\r\ncontent-length: ", Integer.to_string(byte_size(body)), "\r\nconnection: close\r\n\r\n", body])
    :gen_tcp.close(client)
  end
  defp drain(client) do
    case :gen_tcp.recv(client, 0) do
      {:ok, :http_eoh} -> :ok
      {:ok, _} -> drain(client)
      _ -> :ok
    end
  end
end
