defmodule HotSample.Page do
  def render("/bump"), do: "count=#{HotSample.Counter.bump()}\n"
  def render("/greeting"), do: "greeting=#{Application.get_env(:hot_sample, :greeting)}\n"
  def render(_), do: "version=#{Application.spec(:hot_sample, :vsn)} count=#{HotSample.Counter.value()} pid=#{System.pid()}\n"
end
